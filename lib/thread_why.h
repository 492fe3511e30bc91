/* SPDX-License-Identifier: MIT */
/*
 * thread_why.h - why a thread of a process does not stop when asked.
 *
 * A ptrace interrupt stops a thread the next time it could take a signal.
 * A thread in an uninterruptible sleep never gets there until the sleep
 * ends: a vfork() parent waits until its child execs or exits, a read from
 * a slow disk, NFS or a FUSE file system waits for the device. The answer
 * comes from /proc/PID/task/TID/{stat,wchan,syscall,children} only: the
 * thread itself is never touched, and nothing here blocks on it.
 */
#ifndef LM_THREAD_WHY_H
#define LM_THREAD_WHY_H

#include <stddef.h>
#include <sys/types.h>

/* One phrase that completes "thread TID did not stop within 250 ms: ...":
 * "in vfork (its child 4330 has not exec'd or exited)",
 * "in disk sleep (D) in folio_wait_bit_common", "sleeping (S) in
 * fuse_wait_answer", "running (R)", "exiting", "in an unknown state". */
void lm_thread_why(pid_t pid, pid_t tid, char *buf, size_t len);

#endif

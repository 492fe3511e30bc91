/* SPDX-License-Identifier: MIT */
/*
 * inject.h - running one system call inside a stopped thread of a target,
 * and giving the thread back exactly as it was.
 *
 * Used by the frozen-copy source (memsrc_copy.c) to make the target execute
 * `clone` (the copy) and `wait4` (reaping the dead copy).
 *
 * If we die (SIGKILL) while the thread's registers are changed, the kernel
 * detaches it and it runs on from wherever they point. So the syscall runs
 * from a small "restore stub" written, for the duration of the injection
 * only, into the zero padding at the end of libc's text (never executed by
 * the target's own code): after the syscall it puts back the signal mask and
 * every register and jumps back (a child born from clone exits at once
 * instead). The padding is looked for in libc, else in the executable; the
 * frozen-copy source refuses to inject where there is none. The copy's own
 * syscalls run from an existing `syscall` in libc (a "gadget", chosen so
 * that a clone child started from it would exit on its own).
 *
 * The thread must be held by lm_ptrace_stop and be in an interrupt stop
 * (not a signal-delivery-stop or group-stop: lm_inject_thread_usable). Its
 * general registers, signal mask and ptrace options are restored before
 * lm_inject_syscall returns, whatever happened; floating-point state is
 * never touched (no system call we run changes it). Every call must come
 * from the thread of ours that called lm_ptrace_stop.
 */
#ifndef LM_INJECT_H
#define LM_INJECT_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "error.h"
#include "memsrc.h"
#include "proc.h"
#include "ptrace.h"

enum lm_gadget_kind {
	LM_GADGET_EXIT,		/* syscall; cmp rax,-4096; jbe L ... L: mov eax,REG; syscall:
				 * a child (rax 0) runs exit(rdi) when REG holds SYS_exit */
	LM_GADGET_FAULT		/* syscall; [cmp; jae] ret: a child with an invalid stack
				 * pointer faults at once (and may dump core) */
};

struct lm_gadget {
	uint64_t addr;		/* address of the 0f 05 (`syscall`) bytes */
	int kind;		/* enum lm_gadget_kind */
	int exit_reg;		/* LM_GADGET_EXIT: x86 register number (0 rax .. 15 r15)
				 * that must hold SYS_exit; -1 otherwise */
	uint8_t bytes[24];	/* the code at addr, to check it is still there */
	unsigned nbytes;
	uint64_t pad;		/* zero padding at the end of libc's text for the
				 * restore stub, or 0 */
	unsigned pad_len;
};

/* Bytes of padding the restore stub needs. */
#define LM_INJECT_STUB_MAX 384

/* Test hook (fault injection): called at each step of an injection
 * (1 stub written, 2 registers set, 3 syscall entry, 4 clone event,
 * 5 syscall exit, 6 registers restored); NULL normally. */
extern void (*lm_inject_step_hook)(int step);

/* Stack pointer given to the clone child: unmapped (below mmap_min_addr),
 * so any use of the stack faults. */
#define LM_INJECT_BAD_SP 0x10u

/* Find a gadget in the executable mappings of pid (libc first). Reads the
 * target's text with process_vm_readv; the target may be running. */
int lm_inject_find_gadget(pid_t pid, const struct lm_maps *maps, struct lm_gadget *g,
			  struct lm_err *err);

/* Is the gadget's code still at its address in pid (re-read 24 bytes)? */
int lm_inject_gadget_valid(pid_t pid, const struct lm_gadget *g);

/* 1 when a thread of st stands inside the restore stub's padding (a
 * census that died left it running there): do not inject now. */
int lm_inject_pad_in_use(const struct lm_stopped *st, const struct lm_gadget *g);

/* 1 when tid (held by us) is in a PTRACE_INTERRUPT stop, where a syscall
 * may be injected; 0 for a signal-delivery-stop, a group-stop or an error. */
int lm_inject_thread_usable(pid_t tid);

/* Registers for running syscall nr(args) at the gadget, from saved. */
void lm_inject_regs(const struct user_regs_struct *saved, const struct lm_gadget *g, long nr,
		    const uint64_t args[6], struct user_regs_struct *out);

/* Would the seccomp filters of thread tid let `regs` (made by
 * lm_inject_regs) run? 0 yes; -LM_ELIMIT (a limit the target sets itself:
 * callers fall back to the live source) with the reason when a filter
 * returns anything but ALLOW (errno, trap, kill...), when seccomp is in
 * strict mode, or when the filters cannot be read (we never gamble: a
 * filter may kill the process). */
int lm_inject_seccomp_allows(pid_t tid, const struct user_regs_struct *regs,
			     struct lm_err *err);

/* Run the classic BPF seccomp program f[0..n) on d, as the kernel would.
 * 0 and the filter's return value in *ret, or -LM_EINVAL for a program we
 * do not understand (callers treat it as a refusal). The program is hostile input
 * (read from the target): every access is checked. */
struct sock_filter;
struct seccomp_data;
int lm_seccomp_bpf_run(const struct sock_filter *f, unsigned n, const struct seccomp_data *d,
		       uint32_t *ret);

struct lm_inject_result {
	long ret;		/* the syscall's return value (rax) */
	pid_t child;		/* for clone: the new child's pid as we see it
				 * (auto-attached, stopped at birth), else 0 */
};

/* Run syscall nr(args) in tid, whose registers at the stop are *saved,
 * at gadget g. The thread's signals are all blocked meanwhile (pending
 * ones stay pending), it stops at the syscall's entry and exit, and for a
 * clone PTRACE_O_TRACECLONE makes the child ours from birth. Afterwards the
 * registers, signal mask and options are restored exactly. The thread stays
 * stopped (held); lm_ptrace_release lets it go on as if nothing happened
 * (an interrupted syscall restarts as it would have). */
int lm_inject_syscall(pid_t tid, const struct user_regs_struct *saved,
		      const struct lm_gadget *g, long nr, const uint64_t args[6],
		      struct lm_inject_result *res, struct lm_err *err);

/* Run syscall nr(args) in a stopped tracee that is OURS to change (the
 * copy): registers are not restored. Returns the syscall's result in *ret. */
int lm_inject_syscall_raw(pid_t tid, const struct user_regs_struct *base,
			  const struct lm_gadget *g, long nr, const uint64_t args[6],
			  long *ret, struct lm_err *err);

/* The frozen-copy source's extra figure: how long the second, brief stop
 * that reaps the dead copy (an injected wait4) held the target, in ns. */
uint64_t lm_memsrc_copy_reap_pause_ns(const struct lm_memsrc *src);
/* And the memory the target had to copy (copy-on-write) while the copy
 * lived, in bytes: its cost to a target that writes. */
uint64_t lm_memsrc_copy_cow_bytes(const struct lm_memsrc *src);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * mapfile.h - opening the files behind a target's mappings, and debug files,
 * without letting the target choose what is opened.
 *
 * The names come from the target: /proc/PID/maps, a core's NT_FILE notes,
 * the build-id in a module. The target can replace the file at such a name
 * by a FIFO (an open() would block forever), a device, a symbolic link to a
 * file only we may read, or another file. So:
 *  - live targets: /proc/PID/map_files/START-END (the very file mapped) when
 *    the kernel lets us (CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE); else the
 *    path resolved inside the target's root (/proc/PID/root) following no
 *    symbolic link in any component, accepted only when it is a regular
 *    file with the device and inode numbers the mapping shows; a deleted
 *    file (" (deleted)") is reachable through map_files only;
 *  - cores and debug files: host paths, no symbolic link followed, regular
 *    files only;
 *  - every open is O_PATH first (which never blocks and opens no device),
 *    checked with fstat, then reopened for reading through /proc/self/fd.
 * docs/mapped-files.md says why, and what this costs (overlayfs, btrfs).
 *
 * A refusal is an error with a sentence "PATH: not opened: why", which the
 * symbol loader turns into a census warning.
 */
#ifndef LM_MAPFILE_H
#define LM_MAPFILE_H

#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct lm_memsrc;
struct lm_mapping;

/* Largest debug file read (a debug file bigger than this is skipped). */
#define LM_DEBUG_FILE_MAX (4ULL << 30)

/* Open the file behind a file-backed mapping of src for reading (ELF
 * symbols, libc version): as above for live and copy sources, the NT_FILE
 * path for cores (refused, LM_EPERM, when the core's copy of the file's
 * first page differs from the file's). Returns an fd (O_RDONLY, O_NONBLOCK, close-on-exec) or a
 * negative LM_E* code: LM_EINVAL (not a file mapping), LM_ENOTFOUND (nothing
 * there, or deleted), LM_EPERM (refused: another file, not a regular file,
 * a symbolic link in the path, access denied), LM_EIO. */
int lm_memsrc_open_mapping_file(const struct lm_memsrc *src,
				const struct lm_mapping *map, struct lm_err *err);

/* The same for a mapping of live process pid. */
int lm_mapfile_open_live(pid_t pid, const struct lm_mapping *map, struct lm_err *err);

/* Open a host file (a core's NT_FILE path, a debug file) for reading: no
 * symbolic link followed in any component, a regular file of at most
 * max_size bytes (0: any size). An fd or a negative LM_E* code, as above. */
int lm_mapfile_open_host(const char *path, uint64_t max_size, struct lm_err *err);

/* Open the debug file rel (".build-id/xx/rest.debug", a debug link's name)
 * below the debug directory dir: dir itself is followed (the administrator
 * chose it), nothing below it; a regular file of at most LM_DEBUG_FILE_MAX
 * bytes. An fd or a negative LM_E* code. */
int lm_mapfile_open_debug(const char *dir, const char *rel, struct lm_err *err);

/* Is name one plain file name (not empty, no '/', not "." or "..")? For
 * names a target's file supplies that are looked up in a host directory. */
int lm_mapfile_name_ok(const char *name);

/* Tests set this to 1 to resolve paths by the component-by-component walk
 * used where the kernel lacks openat2(). */
extern int lm_mapfile_force_walk;

#endif

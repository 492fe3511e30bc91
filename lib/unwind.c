/* SPDX-License-Identifier: MIT */
/*
 * unwind.c - call stacks of a snapshot's threads over captured memory.
 *
 * libdwfl unwinds remote state when given four callbacks: the threads (our
 * saved registers), memory reads (the memory source: the stacks are
 * captured), and it reads call-frame information (.eh_frame/.debug_frame)
 * from the modules we report with their load bias. That works identically
 * for a live capture, a frozen copy and a core file, which libunwind-ptrace
 * (needs a traced pid) does not. Where CFI gives up early (hand-written
 * assembly, a corrupt stack) we continue along the frame-pointer chain as
 * long as it climbs monotonically inside the thread's stack mapping; every
 * loop is bounded by LM_UNWIND_MAX_FRAMES.
 *
 * Frames are computed per thread on first use and cached.
 */
#include "config.h"

#include <elfutils/libdwfl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mapfile.h"
#include "unwind.h"

struct thread_frames {
	int done;
	struct lm_frame *v;
	size_t n;
};

struct lm_unwinder {
	const struct lm_memsrc *src;
	const struct lm_symtab *syms;
	Dwfl *dwfl;			/* NULL when libdwfl could not be set up */
	struct thread_frames *threads;	/* one per src->threads */
	struct thread_frames *cur;	/* being filled by frame_cb */
};

/* x86_64 DWARF register numbers: rax rdx rcx rbx rsi rdi rbp rsp r8..r15 rip */
#define DWARF_RSP 7
#define DWARF_NREGS 17

#define LM_UNWIND_DEBUG_ROOT "/usr/lib/debug"

/* Every module is reported with its file already open (report_modules), so
 * libdwfl never needs to find one: its own finder would open the paths the
 * target's mappings name, following whatever is there now. */
static int cb_find_elf(Dwfl_Module *mod, void **userdata, const char *modname,
		       Dwarf_Addr base, char **file_name, Elf **elfp)
{
	(void)mod, (void)userdata, (void)modname, (void)base, (void)file_name;
	*elfp = NULL;
	return -1;
}

/* The separate debug file (for .debug_frame) by build-id, else by debug
 * link below the debug root: libdwfl's standard finder would also look next
 * to the module's path and follow symbolic links, with names the target's
 * file supplies. lm_mapfile_open_debug follows nothing below the root. */
static int cb_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			     Dwarf_Addr base, const char *file_name,
			     const char *debuglink_file, GElf_Word debuglink_crc,
			     char **debuginfo_file_name)
{
	const unsigned char *bits;
	GElf_Addr vaddr;
	char rel[4096];
	const char *slash;
	int n = dwfl_module_build_id(mod, &bits, &vaddr), k, len = 0, fd;

	(void)userdata, (void)modname, (void)base, (void)debuglink_crc;
	*debuginfo_file_name = NULL;
	if (n >= 2 && n <= 64) {
		len = snprintf(rel, sizeof(rel), ".build-id/%02x/", bits[0]);
		for (k = 1; k < n; k++)
			len += snprintf(rel + len, sizeof(rel) - (size_t)len, "%02x", bits[k]);
		snprintf(rel + len, sizeof(rel) - (size_t)len, ".debug");
		fd = lm_mapfile_open_debug(LM_UNWIND_DEBUG_ROOT, rel, NULL);
		if (fd >= 0)
			return fd;
	}
	if (!lm_mapfile_name_ok(debuglink_file) || !file_name ||
	    !(slash = strrchr(file_name, '/')))
		return -1;
	/* the module's directory below the root; ".." cannot climb out */
	if (snprintf(rel, sizeof(rel), "%.*s/%s", (int)(slash - file_name), file_name,
		     debuglink_file) >= (int)sizeof(rel))
		return -1;
	fd = lm_mapfile_open_debug(LM_UNWIND_DEBUG_ROOT, rel, NULL);
	return fd >= 0 ? fd : -1;
}

static const Dwfl_Callbacks dwfl_callbacks = {
	.find_elf = cb_find_elf,
	.find_debuginfo = cb_find_debuginfo,
};

/* The per-thread argument libdwfl carries for us is the thread's saved
 * registers (an element of src->threads). */
static pid_t cb_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	struct lm_unwinder *u = arg;
	const struct lm_thread_regs *prev = *thread_argp;
	size_t i = prev ? (size_t)(prev - u->src->threads) + 1 : 0;

	if (i >= u->src->nthreads)
		return 0;
	*thread_argp = (void *)&u->src->threads[i];
	return u->src->threads[i].tid;
}

static bool cb_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	struct lm_unwinder *u = arg;
	size_t i;

	for (i = 0; i < u->src->nthreads; i++)
		if (u->src->threads[i].tid == tid) {
			*thread_argp = (void *)&u->src->threads[i];
			return true;
		}
	return false;
}

static bool cb_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct lm_unwinder *u = arg;
	uint64_t v;

	if (lm_mem_word(u->src, addr, &v) < 0)
		return false;
	*result = v;
	return true;
}

static bool cb_set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	const struct lm_thread_regs *tr = thread_arg;
	const struct user_regs_struct *r = &tr->regs;
	Dwarf_Word d[DWARF_NREGS] = {
		r->rax, r->rdx, r->rcx, r->rbx, r->rsi, r->rdi, r->rbp, r->rsp,
		r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15, r->rip,
	};

	if (!dwfl_thread_state_registers(thread, 0, DWARF_NREGS, d))
		return false;
	dwfl_thread_state_register_pc(thread, r->rip);
	return true;
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = cb_next_thread,
	.get_thread = cb_get_thread,
	.memory_read = cb_memory_read,
	.set_initial_registers = cb_set_initial_registers,
};

static void report_modules(struct lm_unwinder *u)
{
	size_t i, n = lm_symtab_nmodules(u->syms);
	struct lm_err err;

	dwfl_report_begin(u->dwfl);
	for (i = 0; i < n; i++) {
		const struct lm_module *m = lm_symtab_module_at(u->syms, i);
		const struct lm_mapping *map = lm_module_mapping(u->src, m);
		int fd;

		if (!map)
			continue;
		fd = lm_memsrc_open_mapping_file(u->src, map, &err);
		if (fd < 0)
			continue;	/* that module's frames fall back to frame pointers */
		/* add_p_vaddr: base is the load bias, as in lm_module */
		if (!dwfl_report_elf(u->dwfl, m->name, m->path, fd, m->bias, true))
			close(fd);
	}
	dwfl_report_end(u->dwfl, NULL, NULL);
}

int lm_unwinder_new(const struct lm_memsrc *src, const struct lm_symtab *syms,
		    struct lm_unwinder **out, struct lm_err *err)
{
	struct lm_unwinder *u = calloc(1, sizeof(*u));

	*out = NULL;
	if (!u)
		return lm_err_set(err, LM_ENOMEM, "out of memory setting up stack unwinding");
	u->src = src;
	u->syms = syms;
	u->threads = calloc(src->nthreads ? src->nthreads : 1, sizeof(*u->threads));
	if (!u->threads) {
		free(u);
		return lm_err_set(err, LM_ENOMEM, "out of memory setting up stack unwinding");
	}
	/* Without libdwfl we still have frame 0 and the frame-pointer chain. */
	u->dwfl = dwfl_begin(&dwfl_callbacks);
	if (u->dwfl) {
		report_modules(u);
		if (!dwfl_attach_state(u->dwfl, NULL, src->pid ? src->pid : 1,
				       &thread_callbacks, u)) {
			dwfl_end(u->dwfl);
			u->dwfl = NULL;
		}
	}
	*out = u;
	return 0;
}

void lm_unwinder_free(struct lm_unwinder *u)
{
	size_t i;

	if (!u)
		return;
	if (u->dwfl)
		dwfl_end(u->dwfl);
	for (i = 0; i < u->src->nthreads; i++)
		free(u->threads[i].v);
	free(u->threads);
	free(u);
}

static int push_frame(struct thread_frames *t, uint64_t pc, uint64_t sp, int exact)
{
	struct lm_frame *v;

	if (t->n >= LM_UNWIND_MAX_FRAMES)
		return -LM_ELIMIT;
	if (t->n % 16 == 0) {
		v = realloc(t->v, (t->n + 16) * sizeof(*v));
		if (!v)
			return -LM_ENOMEM;
		t->v = v;
	}
	t->v[t->n].pc = pc;
	t->v[t->n].sp = sp;
	t->v[t->n].exact = exact;
	t->n++;
	return 0;
}

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct lm_unwinder *u = arg;
	struct thread_frames *t = u->cur;
	Dwarf_Addr pc;
	Dwarf_Word sp = 0;
	bool activation = false;

	if (!dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	if (dwfl_frame_reg(state, DWARF_RSP, &sp) != 0) {
		/* No sp for this frame: we could not place its slots. */
		return DWARF_CB_ABORT;
	}
	/* A stack grows down: callers' sps must climb, or this is garbage. */
	if (t->n > 0 && sp <= t->v[t->n - 1].sp)
		return DWARF_CB_ABORT;
	if (push_frame(t, pc, sp, activation || t->n == 0) < 0)
		return DWARF_CB_ABORT;
	return pc == 0 ? DWARF_CB_ABORT : DWARF_CB_OK;
}

/* Continue along saved frame pointers: [rbp] = caller's rbp, [rbp+8] = return
 * address, caller's sp = rbp + 16. Only while rbp climbs inside the stack. */
static void follow_frame_pointers(struct lm_unwinder *u, struct thread_frames *t,
				  uint64_t rbp, uint64_t stack_end)
{
	uint64_t next_rbp, ret;

	while (t->n < LM_UNWIND_MAX_FRAMES && rbp % 8 == 0 &&
	       rbp >= t->v[t->n - 1].sp && rbp + 16 <= stack_end) {
		if (lm_mem_word(u->src, rbp, &next_rbp) < 0 ||
		    lm_mem_word(u->src, rbp + 8, &ret) < 0 || ret == 0)
			break;
		if (!lm_symtab_module(u->syms, ret))
			break;
		if (push_frame(t, ret, rbp + 16, 0) < 0)
			break;
		if (next_rbp <= rbp)
			break;
		rbp = next_rbp;
	}
}

static void unwind_one(struct lm_unwinder *u, size_t ti)
{
	const struct lm_thread_regs *tr = &u->src->threads[ti];
	struct thread_frames *t = &u->threads[ti];
	const struct lm_mapping *stack = lm_maps_find(&u->src->maps, tr->regs.rsp);

	t->done = 1;
	if (u->dwfl) {
		u->cur = t;
		(void)dwfl_getthread_frames(u->dwfl, tr->tid, frame_cb, u);
		u->cur = NULL;
	}
	if (t->n == 0 && push_frame(t, tr->regs.rip, tr->regs.rsp, 1) < 0)
		return;
	/* If CFI stopped before reaching the outermost frame, frame pointers
	 * may take us further (only when libdwfl gave up at frame 0, where
	 * rbp is still the thread's own). */
	if (t->n == 1 && stack)
		follow_frame_pointers(u, t, tr->regs.rbp, stack->end);
}

int lm_unwind_thread(struct lm_unwinder *u, size_t ti, const struct lm_frame **frames,
		     size_t *nframes, struct lm_err *err)
{
	if (ti >= u->src->nthreads)
		return lm_err_set(err, LM_EINVAL, "no thread %zu in this snapshot (it has %zu)",
				  ti, u->src->nthreads);
	if (!u->threads[ti].done)
		unwind_one(u, ti);
	*frames = u->threads[ti].v;
	*nframes = u->threads[ti].n;
	return 0;
}

int lm_unwind_frame_of(const struct lm_frame *frames, size_t nframes, uint64_t addr)
{
	size_t k;

	if (nframes == 0 || addr < frames[0].sp)
		return -1;
	for (k = 0; k + 1 < nframes; k++)
		if (addr < frames[k + 1].sp)
			return (int)k;
	return (int)(nframes - 1);
}

void lm_frame_function(const struct lm_symtab *syms, const struct lm_frame *f,
		       char *buf, size_t len)
{
	uint64_t look = f->exact || f->pc == 0 ? f->pc : f->pc - 1;
	const struct lm_symbol *s = lm_symtab_nearest(syms, look);
	const struct lm_module *m;

	if (s && s->name && s->name[0]) {
		if (f->pc == s->addr)
			snprintf(buf, len, "%s", s->name);
		else
			snprintf(buf, len, "%s+0x%" PRIx64, s->name, f->pc - s->addr);
		return;
	}
	m = lm_symtab_module(syms, look);
	if (m)
		snprintf(buf, len, "%s+0x%" PRIx64, m->name, f->pc - m->bias);
	else
		snprintf(buf, len, "0x%" PRIx64, f->pc);
}

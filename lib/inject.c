/* SPDX-License-Identifier: MIT */
/*
 * inject.c - running one system call inside a stopped thread of a target,
 * and giving the thread back exactly as it was (see inject.h).
 *
 * How one injection goes (the thread is in a PTRACE_INTERRUPT stop):
 *  1. save the signal mask (PTRACE_GETSIGMASK) and block every signal, so
 *     that resuming the thread delivers nothing: pending signals stay
 *     pending, untouched;
 *  2. set the registers: rip = a `syscall` instruction already present in
 *     libc's text, rax = the number, the arguments, and orig_rax = -1 so the
 *     kernel's restart logic does not re-run the syscall the thread was
 *     interrupted in (it is restarted later, from the restored registers);
 *  3. PTRACE_SYSCALL to the syscall-entry stop, then to the syscall-exit
 *     stop (with PTRACE_O_TRACECLONE for clone, the clone event comes in
 *     between and the child is attached and stopped before it runs);
 *  4. read rax, restore registers, mask and options.
 * When the thread is released, the kernel's detach sets TIF_SIGPENDING, so
 * the return to user mode goes through the signal/restart path with the
 * restored registers: a syscall interrupted with -ERESTART* restarts
 * exactly as it would have without us (tests/copy_family.test checks a
 * thread blocked in wait4, read and nanosleep).
 *
 * Dying in the middle: with PTRACE_SEIZE, a tracer's death detaches the
 * thread and it runs from whatever its registers say, with its signals all
 * blocked. So the syscall instruction we point it at is the first of a
 * restore stub written into the zero padding that ends libc's text mapping
 * (bytes past the last function, never executed by the target):
 *     syscall
 *     [clone only: test rax,rax; jnz restore; exit(0); hlt]   the child
 *   restore:
 *     rt_sigprocmask(SIG_SETMASK, &saved_mask, NULL, 8)
 *     rsp = saved rsp - 256 (below the red zone); push saved rflags; popfq
 *     load the 15 other general registers, then rsp; jmp *saved_rip
 * with the saved values in a data block after the code. A thread that was
 * interrupted inside a syscall gets what the kernel would have done on a
 * restart (rip - 2, rax = orig_rax or restart_syscall). In the normal case
 * the stub's restore path never runs: we restore with PTRACE_SETREGS at the
 * syscall-exit stop and zero the padding again. The page of libc text we
 * write to becomes a private copy in the target (4 KiB, for its lifetime).
 *
 * The gadget, used for the copy's own syscalls and where no padding exists:
 * the child of an injected clone starts at the instruction
 * after the `syscall`, with the parent's registers and rax = 0. If we die
 * before we have set PTRACE_O_EXITKILL on it, the kernel detaches it and it
 * runs: it must not run the target's code. glibc's _exit has
 *   syscall; cmp rax,-4096; jbe L; ...  L: mov eax,REG; syscall
 * so a child of a clone made at that first `syscall`, with REG = SYS_exit,
 * exits at once (rdi, the clone flags = 0, is its status). Failing that, a
 * `syscall; ret` (or `syscall; cmp; jae; ret`) with the child's stack
 * pointer at an unmapped address faults at once (all signals blocked, so
 * the kernel kills it with the default action, possibly dumping core).
 *
 * Seccomp: a filter may kill the process for a syscall it does not expect.
 * Before injecting we read the thread's filters (PTRACE_SECCOMP_GET_FILTER)
 * and run them on the exact seccomp_data the kernel will see, with a small
 * classic-BPF interpreter; anything but ALLOW is a refusal.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inject.h"
#include "mapfile.h"
#include "seccomp_fetch.h"

#define TEXT_MAX (64u << 20)	/* bound on the text we scan per mapping */
#define FILTERS_MAX 1024	/* bound on stacked seccomp filters */
#define FILTER_INSNS_MAX 4096	/* BPF_MAXINSNS */
#define WAIT_EVENTS_MAX 16	/* bound on stops seen in one injection */

/* ---------------------------------------------------------------- gadget */

/* len bytes at addr of pid; -LM_EFAULT when not all of them are readable. */
static int read_target(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec l = { buf, len };
	struct iovec r = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv(pid, &l, 1, &r, 1, 0);

	return n == (ssize_t)len ? 0 : -LM_EFAULT;
}

/* Register number of `[rex] 89 modrm` (mov eax, r32) at p, or -1. */
static int mov_eax_from(const uint8_t *p, size_t avail, size_t *len)
{
	size_t i = 0;
	int high = 0;

	if (avail >= 1 && (p[0] == 0x40 || p[0] == 0x44)) {
		high = p[0] == 0x44;
		i = 1;
	}
	if (avail < i + 2 || p[i] != 0x89 || (p[i + 1] & 0xc7) != 0xc0)
		return -1;
	*len = i + 2;
	return (high ? 8 : 0) + ((p[i + 1] >> 3) & 7);
}

/* Registers the child may hold SYS_exit in: not rax (0 in the child), rcx
 * and r11 (clobbered by syscall), rsp, nor rdi and rsi (clone's flags and
 * stack). */
static int exit_reg_usable(int reg)
{
	return reg != 0 && reg != 1 && reg != 4 && reg != 6 && reg != 7 && reg != 11;
}

static const uint8_t CMP_RAX_4096[] = { 0x48, 0x3d, 0x00, 0xf0, 0xff, 0xff };
static const uint8_t CMP_RAX_4095_JAE1_RET[] = { 0x48, 0x3d, 0x01, 0xf0, 0xff, 0xff,
						 0x73, 0x01, 0xc3 };

/* Is text[i] (a 0f 05) the start of an exit gadget? */
static int exit_gadget_at(const uint8_t *t, size_t n, size_t i, int *reg)
{
	size_t at, mlen;
	int8_t rel;
	int r;

	if (i + 10 > n || memcmp(t + i + 2, CMP_RAX_4096, sizeof(CMP_RAX_4096)) != 0 ||
	    t[i + 8] != 0x76)
		return 0;
	rel = (int8_t)t[i + 9];
	if ((int64_t)(i + 10) + rel < 0)
		return 0;
	at = (size_t)((int64_t)(i + 10) + rel);
	if (at >= n)
		return 0;
	r = mov_eax_from(t + at, n - at, &mlen);
	if (r < 0 || !exit_reg_usable(r) || at + mlen + 2 > n ||
	    t[at + mlen] != 0x0f || t[at + mlen + 1] != 0x05)
		return 0;
	*reg = r;
	return 1;
}

static int fault_gadget_at(const uint8_t *t, size_t n, size_t i)
{
	if (i + 3 <= n && t[i + 2] == 0xc3)
		return 1;
	return i + 2 + sizeof(CMP_RAX_4095_JAE1_RET) <= n &&
	       memcmp(t + i + 2, CMP_RAX_4095_JAE1_RET, sizeof(CMP_RAX_4095_JAE1_RET)) == 0;
}

static void gadget_set(struct lm_gadget *g, uint64_t base, const uint8_t *t, size_t n,
		       size_t i, int kind, int reg)
{
	g->addr = base + i;
	g->kind = kind;
	g->exit_reg = reg;
	g->nbytes = (unsigned)(n - i < sizeof(g->bytes) ? n - i : sizeof(g->bytes));
	memcpy(g->bytes, t + i, g->nbytes);
}

/* Scan one text mapping; 2 = exit gadget found, 1 = fault gadget only. */
static int scan_text(const uint8_t *t, size_t n, uint64_t base, struct lm_gadget *g,
		     int have)
{
	size_t i;
	int reg;

	for (i = 0; i + 2 <= n; i++) {
		if (t[i] != 0x0f || t[i + 1] != 0x05)
			continue;
		if (exit_gadget_at(t, n, i, &reg)) {
			gadget_set(g, base, t, n, i, LM_GADGET_EXIT, reg);
			return 2;
		}
		if (!have && fault_gadget_at(t, n, i)) {
			gadget_set(g, base, t, n, i, LM_GADGET_FAULT, -1);
			have = 1;
		}
	}
	return have;
}

static int is_libc_path(const char *p)
{
	const char *b = p ? strrchr(p, '/') : NULL;

	b = b ? b + 1 : p;
	return b && (strncmp(b, "libc.so", 7) == 0 || strncmp(b, "libc-", 5) == 0);
}

/* The zero bytes ending a libc text mapping (after its last function):
 * room for the restore stub, 64 bytes clear of the last non-zero byte.
 * The last page is read from the file, not from the target, whose copy may
 * hold a stub a killed census left: the place must not move. */
static void find_pad(pid_t pid, const struct lm_mapping *m, struct lm_gadget *g)
{
	uint8_t t[4096];
	size_t n = sizeof(t), z, at;
	uint64_t base = m->end - n;
	ssize_t got;
	int fd;

	if (m->end - m->start < n)
		return;
	fd = lm_mapfile_open_live(pid, m, NULL);
	if (fd < 0)
		return;
	memset(t, 0, sizeof(t));
	got = pread(fd, t, n, (off_t)(m->offset + (m->end - m->start) - n));
	close(fd);
	if (got < 0)
		return;
	z = n;
	while (z > 0 && t[z - 1] == 0)
		z--;
	at = (z + 64 + 15) & ~(size_t)15;
	if (at + LM_INJECT_STUB_MAX > n)
		return;
	g->pad = base + at;
	g->pad_len = LM_INJECT_STUB_MAX;
}

void (*lm_inject_step_hook)(int step);

static void step(int n)
{
	if (lm_inject_step_hook)
		lm_inject_step_hook(n);
}

int lm_inject_find_gadget(pid_t pid, const struct lm_maps *maps, struct lm_gadget *g,
			  struct lm_err *err)
{
	int pass, have = 0;
	size_t i;

	memset(g, 0, sizeof(*g));
	g->exit_reg = -1;
	/* Pass 0: libc (where the exit gadget lives); pass 1: any text. */
	for (pass = 0; pass < 2 && (have < 2 || !g->pad); pass++) {
		for (i = 0; i < maps->n && (have < 2 || !g->pad); i++) {
			const struct lm_mapping *m = &maps->v[i];
			size_t len = (size_t)(m->end - m->start);
			uint8_t *t;
			if ((m->prot & (LM_PROT_X | LM_PROT_R)) != (LM_PROT_X | LM_PROT_R) ||
			    (m->prot & LM_PROT_SHARED) || !m->path || m->path[0] == '[' ||
			    is_libc_path(m->path) != (pass == 0) || len > TEXT_MAX)
				continue;
			t = malloc(len);
			if (!t)
				return lm_err_set(err, LM_ENOMEM, "out of memory reading text of pid %d",
						  (int)pid);
			if (read_target(pid, m->start, t, len) == 0) {
				if (have < 2)
					have = scan_text(t, len, m->start, g, have);
				if (!g->pad)
					find_pad(pid, m, g);
			}
			free(t);
		}
	}
	if (!have && g->pad) {
		/* The copy's own syscalls run from the stub's first
		 * instruction (the copy inherits the stub). */
		g->addr = g->pad;
		g->kind = LM_GADGET_FAULT;
		have = 1;
	}
	if (!have)
		return lm_err_set(err, LM_ENOTFOUND,
				  "no usable `syscall` instruction found in the text of pid %d "
				  "(no glibc?); use the live mode", (int)pid);
	return 0;
}

int lm_inject_gadget_valid(pid_t pid, const struct lm_gadget *g)
{
	uint8_t b[sizeof(g->bytes)];

	if (g->pad && g->addr == g->pad)
		return 1;	/* the stub itself; checked when written */
	return g->nbytes && read_target(pid, g->addr, b, g->nbytes) == 0 &&
	       memcmp(b, g->bytes, g->nbytes) == 0;
}

/* ------------------------------------------------------------- registers */

static unsigned long long *reg_ptr(struct user_regs_struct *r, int n)
{
	switch (n) {
	case 0: return &r->rax;
	case 1: return &r->rcx;
	case 2: return &r->rdx;
	case 3: return &r->rbx;
	case 4: return &r->rsp;
	case 5: return &r->rbp;
	case 6: return &r->rsi;
	case 7: return &r->rdi;
	case 8: return &r->r8;
	case 9: return &r->r9;
	case 10: return &r->r10;
	case 11: return &r->r11;
	case 12: return &r->r12;
	case 13: return &r->r13;
	case 14: return &r->r14;
	case 15: return &r->r15;
	default: return NULL;
	}
}

void lm_inject_regs(const struct user_regs_struct *saved, const struct lm_gadget *g, long nr,
		    const uint64_t args[6], struct user_regs_struct *out)
{
	*out = *saved;
	out->rip = g->pad ? g->pad : g->addr;
	out->rax = (unsigned long long)nr;
	out->orig_rax = (unsigned long long)-1;	/* no restart of what was interrupted */
	out->rdi = args[0];
	out->rsi = args[1];
	out->rdx = args[2];
	out->r10 = args[3];
	out->r8 = args[4];
	out->r9 = args[5];
	out->eflags &= ~0x100ull;		/* no trap flag */
	if (nr == SYS_clone && g->kind == LM_GADGET_EXIT) {
		unsigned long long *r = reg_ptr(out, g->exit_reg);
		if (r)
			*r = SYS_exit;
	}
}


/* ----------------------------------------------------------- restore stub */

struct stub {
	uint8_t b[LM_INJECT_STUB_MAX];
	size_t n;
};

static void emit(struct stub *s, const uint8_t *p, size_t n)
{
	if (s->n + n <= sizeof(s->b))
		memcpy(s->b + s->n, p, n);
	s->n += n;
}

/* Emit an instruction ending in a rip-relative disp32 to data slot `slot`;
 * the displacement is patched once the data block's place is known. */
struct fixup {
	size_t at;	/* offset of the disp32 */
	int slot;
};

static void emit_riprel(struct stub *s, const uint8_t *op, size_t n, int slot,
			struct fixup *fx, size_t *nfx)
{
	static const uint8_t zero4[4];

	emit(s, op, n);
	fx[*nfx].at = s->n;
	fx[*nfx].slot = slot;
	(*nfx)++;
	emit(s, zero4, 4);
}

/* Data slots after the code, 8 bytes each. */
enum { SLOT_MASK, SLOT_TMPSP, SLOT_FLAGS, SLOT_REG0 /* + x86 reg number */, SLOT_RIP = SLOT_REG0 + 16,
       SLOTS };

/* What the thread must look like if it runs on without us: the saved
 * registers, with the kernel's syscall restart applied (we will not be
 * there to let the kernel do it). */
static void died_regs(const struct user_regs_struct *saved, struct user_regs_struct *v)
{
	*v = *saved;
	if ((long long)saved->orig_rax < 0)
		return;
	switch ((long long)saved->rax) {
	case -512:	/* ERESTARTSYS */
	case -513:	/* ERESTARTNOINTR */
	case -514:	/* ERESTARTNOHAND */
		v->rax = saved->orig_rax;
		v->rip -= 2;
		break;
	case -516:	/* ERESTART_RESTARTBLOCK */
		v->rax = SYS_restart_syscall;
		v->rip -= 2;
		break;
	default:
		break;
	}
}

static int build_stub(const struct user_regs_struct *saved, uint64_t mask, int is_clone,
		      uint64_t at, struct stub *s)
{
	static const uint8_t SYSCALL[] = { 0x0f, 0x05 };
	static const uint8_t CHILD_EXIT[] = {
		0x48, 0x85, 0xc0,		/* test rax, rax */
		0x75, 0x0a,			/* jnz restore */
		0xb8, 0x3c, 0x00, 0x00, 0x00,	/* mov eax, SYS_exit */
		0x31, 0xff,			/* xor edi, edi */
		0x0f, 0x05,			/* syscall */
		0xf4,				/* hlt: never falls into restore */
	};
	static const uint8_t SIGMASK_HEAD[] = {
		0xb8, 0x0e, 0x00, 0x00, 0x00,	/* mov eax, SYS_rt_sigprocmask */
		0xbf, 0x02, 0x00, 0x00, 0x00,	/* mov edi, SIG_SETMASK */
	};
	static const uint8_t SIGMASK_TAIL[] = {
		0x31, 0xd2,			/* xor edx, edx */
		0x41, 0xba, 0x08, 0x00, 0x00, 0x00,	/* mov r10d, 8 */
		0x0f, 0x05,			/* syscall */
	};
	static const uint8_t LEA_RSI[] = { 0x48, 0x8d, 0x35 };
	static const uint8_t MOV_RSP[] = { 0x48, 0x8b, 0x25 };
	static const uint8_t PUSH_M[] = { 0xff, 0x35 };
	static const uint8_t POPFQ[] = { 0x9d };
	static const uint8_t JMP_M[] = { 0xff, 0x25 };
	struct fixup fx[32];
	size_t nfx = 0, i, data;
	uint64_t slots[SLOTS];
	struct user_regs_struct v;
	int reg;

	memset(s, 0, sizeof(*s));
	emit(s, SYSCALL, sizeof(SYSCALL));
	if (is_clone)
		emit(s, CHILD_EXIT, sizeof(CHILD_EXIT));
	emit(s, SIGMASK_HEAD, sizeof(SIGMASK_HEAD));
	emit_riprel(s, LEA_RSI, sizeof(LEA_RSI), SLOT_MASK, fx, &nfx);
	emit(s, SIGMASK_TAIL, sizeof(SIGMASK_TAIL));
	emit_riprel(s, MOV_RSP, sizeof(MOV_RSP), SLOT_TMPSP, fx, &nfx);
	emit_riprel(s, PUSH_M, sizeof(PUSH_M), SLOT_FLAGS, fx, &nfx);
	emit(s, POPFQ, sizeof(POPFQ));
	for (reg = 0; reg < 16; reg++) {
		uint8_t op[3];
		if (reg == 4)
			continue;	/* rsp last */
		op[0] = reg >= 8 ? 0x4c : 0x48;		/* REX.W [+R] */
		op[1] = 0x8b;				/* mov r64, r/m64 */
		op[2] = (uint8_t)(((reg & 7) << 3) | 5);	/* [rip + disp32] */
		emit_riprel(s, op, 3, SLOT_REG0 + reg, fx, &nfx);
	}
	emit_riprel(s, MOV_RSP, sizeof(MOV_RSP), SLOT_REG0 + 4, fx, &nfx);
	emit_riprel(s, JMP_M, sizeof(JMP_M), SLOT_RIP, fx, &nfx);

	data = (s->n + 7) & ~(size_t)7;
	if (data + sizeof(slots) > sizeof(s->b))
		return -LM_ELIMIT;
	died_regs(saved, &v);
	slots[SLOT_MASK] = mask;
	slots[SLOT_TMPSP] = (v.rsp - 256) & ~(uint64_t)15;
	slots[SLOT_FLAGS] = v.eflags;
	for (reg = 0; reg < 16; reg++) {
		unsigned long long *r = reg_ptr(&v, reg);
		slots[SLOT_REG0 + reg] = r ? *r : 0;
	}
	slots[SLOT_RIP] = v.rip;
	for (i = 0; i < nfx; i++) {
		int32_t disp = (int32_t)((int64_t)(data + (size_t)fx[i].slot * 8) -
					 (int64_t)(fx[i].at + 4));
		memcpy(s->b + fx[i].at, &disp, 4);
	}
	memcpy(s->b + data, slots, sizeof(slots));
	s->n = data + sizeof(slots);
	(void)at;
	return 0;
}

/* Write len bytes at addr of tid's memory through /proc/TID/mem (which may
 * write to read-only text: the kernel makes a private copy of the page). */
/* Write with PTRACE_POKEDATA, a word at a time (the last word read, merged
 * and written back): needs only our ptrace hold on the stopped thread. */
static int poke_words(pid_t tid, uint64_t addr, const uint8_t *buf, size_t len)
{
	size_t off;

	for (off = 0; off < len; off += sizeof(long)) {
		long word;
		size_t n = len - off < sizeof(long) ? len - off : sizeof(long);
		if (n < sizeof(long)) {
			errno = 0;
			word = ptrace(PTRACE_PEEKDATA, tid, (void *)(uintptr_t)(addr + off), NULL);
			if (errno)
				return -LM_EIO;
		}
		memcpy(&word, buf + off, n);
		if (ptrace(PTRACE_POKEDATA, tid, (void *)(uintptr_t)(addr + off), (void *)word) < 0)
			return -LM_EIO;
	}
	return 0;
}

static int poke(pid_t tid, uint64_t addr, const void *buf, size_t len)
{
	char path[64];
	int fd, ok;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)tid);
	fd = open(path, O_RDWR | O_CLOEXEC);
	/* Opening another user's /proc/PID/mem for writing takes
	 * CAP_DAC_OVERRIDE, which the daemon's unit does not have (only
	 * CAP_DAC_READ_SEARCH): the tracer's own way needs no more. */
	if (fd < 0 && errno == EACCES)
		return poke_words(tid, addr, buf, len);
	if (fd < 0)
		return -LM_EIO;
	ok = pwrite(fd, buf, len, (off_t)addr) == (ssize_t)len;
	close(fd);
	return ok ? 0 : -LM_EIO;
}

/* Does the padding hold one of our stubs (a census died before erasing)? */
static int stub_is_ours(const uint8_t *cur)
{
	static const uint8_t clone_head[] = { 0x0f, 0x05, 0x48, 0x85, 0xc0, 0x75, 0x0a, 0xb8, 0x3c };
	static const uint8_t other_head[] = { 0x0f, 0x05, 0xb8, 0x0e, 0x00, 0x00, 0x00, 0xbf, 0x02 };

	return memcmp(cur, clone_head, sizeof(clone_head)) == 0 ||
	       memcmp(cur, other_head, sizeof(other_head)) == 0;
}

int lm_inject_pad_in_use(const struct lm_stopped *st, const struct lm_gadget *g)
{
	size_t i;

	for (i = 0; g->pad && i < st->nthreads; i++)
		if (st->threads[i].regs.rip >= g->pad && st->threads[i].regs.rip < g->pad + g->pad_len)
			return 1;
	return 0;
}

/* Write the stub if the padding is free: -LM_EBUSY when it is not (or
 * cannot be read, or is too small), -LM_EIO when the write fails. */
static int stub_write(pid_t tid, const struct lm_gadget *g, const struct stub *s)
{
	uint8_t cur[LM_INJECT_STUB_MAX];
	size_t i;

	if (s->n > g->pad_len || read_target(tid, g->pad, cur, g->pad_len) < 0)
		return -LM_EBUSY;
	for (i = 0; i < g->pad_len; i++)
		if (cur[i])
			break;
	/* All zero, or a stub a killed census left behind (no thread runs
	 * in it: the caller checked with lm_inject_pad_in_use). */
	if (i < g->pad_len && !stub_is_ours(cur))
		return -LM_EBUSY;
	return poke(tid, g->pad, s->b, s->n);
}

static void stub_erase(pid_t tid, const struct lm_gadget *g, size_t n)
{
	static const uint8_t zero[LM_INJECT_STUB_MAX];

	poke(tid, g->pad, zero, n);
}

/* --------------------------------------------------------------- seccomp */

static int seccomp_mode(pid_t tid)
{
	char path[64], line[256];
	int mode = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Seccomp: %d", &mode) == 1)
			break;
	fclose(f);
	return mode;
}

/* Run a classic BPF seccomp program on d. Returns 0 and the action in *ret,
 * or -LM_EINVAL for a program we do not understand (treated as a refusal).
 * Jumps only go forward, so the loop is bounded by n. */
int lm_seccomp_bpf_run(const struct sock_filter *f, unsigned n, const struct seccomp_data *d,
		       uint32_t *ret)
{
	uint32_t A = 0, X = 0, M[BPF_MEMWORDS] = { 0 };
	unsigned pc;

	for (pc = 0; pc < n; pc++) {
		const struct sock_filter *in = &f[pc];
		uint32_t k = in->k, v = BPF_SRC(in->code) == BPF_X ? X : k;
		int cond;

		switch (BPF_CLASS(in->code)) {
		case BPF_LD:
		case BPF_LDX: {
			uint32_t val;
			switch (BPF_MODE(in->code)) {
			case BPF_ABS:
				/* k > size - 4, not k + 4 > size: k + 4 wraps */
				if (BPF_SIZE(in->code) != BPF_W || k % 4 || k > sizeof(*d) - 4)
					return -LM_EINVAL;
				memcpy(&val, (const uint8_t *)d + k, 4);
				break;
			case BPF_IMM: val = k; break;
			case BPF_LEN: val = sizeof(*d); break;
			case BPF_MEM:
				if (k >= BPF_MEMWORDS)
					return -LM_EINVAL;
				val = M[k];
				break;
			default: return -LM_EINVAL;
			}
			if (BPF_CLASS(in->code) == BPF_LD)
				A = val;
			else
				X = val;
			break;
		}
		case BPF_ST:
		case BPF_STX:
			if (k >= BPF_MEMWORDS)
				return -LM_EINVAL;
			M[k] = BPF_CLASS(in->code) == BPF_ST ? A : X;
			break;
		case BPF_ALU:
			switch (BPF_OP(in->code)) {
			case BPF_ADD: A += v; break;
			case BPF_SUB: A -= v; break;
			case BPF_MUL: A *= v; break;
			case BPF_DIV: if (!v) return -LM_EINVAL; A /= v; break;
			case BPF_MOD: if (!v) return -LM_EINVAL; A %= v; break;
			case BPF_OR: A |= v; break;
			case BPF_AND: A &= v; break;
			case BPF_XOR: A ^= v; break;
			case BPF_LSH: A = v < 32 ? A << v : 0; break;
			case BPF_RSH: A = v < 32 ? A >> v : 0; break;
			case BPF_NEG: A = -A; break;
			default: return -LM_EINVAL;
			}
			break;
		case BPF_JMP:
			if (BPF_OP(in->code) == BPF_JA) {
				if ((uint64_t)pc + 1 + k >= n)
					return -LM_EINVAL;
				pc += k;
				break;
			}
			switch (BPF_OP(in->code)) {
			case BPF_JEQ: cond = A == v; break;
			case BPF_JGT: cond = A > v; break;
			case BPF_JGE: cond = A >= v; break;
			case BPF_JSET: cond = (A & v) != 0; break;
			default: return -LM_EINVAL;
			}
			pc += cond ? in->jt : in->jf;
			if (pc + 1 >= n)
				return -LM_EINVAL;
			break;
		case BPF_RET:
			*ret = BPF_RVAL(in->code) == BPF_A ? A : k;
			return 0;
		case BPF_MISC:
			if (BPF_MISCOP(in->code) == BPF_TAX)
				X = A;
			else
				A = X;
			break;
		default:
			return -LM_EINVAL;
		}
	}
	return -LM_EINVAL;	/* fell off the end: the kernel rejects such programs */
}

static const char *seccomp_action_name(uint32_t action)
{
	switch (action & SECCOMP_RET_ACTION_FULL) {
	case SECCOMP_RET_KILL_PROCESS: return "kill the process";
	case SECCOMP_RET_KILL_THREAD: return "kill the thread";
	case SECCOMP_RET_TRAP: return "raise SIGSYS";
	case SECCOMP_RET_ERRNO: return "fail with an errno";
	case SECCOMP_RET_USER_NOTIF: return "ask a supervisor";
	case SECCOMP_RET_TRACE: return "notify a tracer";
	case SECCOMP_RET_LOG: return "log";
	default: return "allow";
	}
}

/* The combined action of the filters the helper read for tid (while the
 * target ran; seccomp_fetch.h says why they are still its filters). 1 when
 * evaluated, 0 when the set in use does not cover tid, -LM_EINVAL when a
 * filter is one we cannot evaluate. */
static int seccomp_eval_fetched(pid_t tid, const struct seccomp_data *d, uint32_t *action)
{
	const struct sock_filter *const *progs;
	const uint32_t *lens;
	uint32_t n, i, best = SECCOMP_RET_ALLOW;

	if (lm_seccomp_set_lookup(tid, &progs, &lens, &n) < 0)
		return 0;
	for (i = 0; i < n; i++) {
		uint32_t r;
		if (lm_seccomp_bpf_run(progs[i], lens[i], d, &r) < 0)
			return -LM_EINVAL;
		if ((int32_t)(r & SECCOMP_RET_ACTION_FULL) <
		    (int32_t)(best & SECCOMP_RET_ACTION_FULL))
			best = r;
	}
	*action = best;
	return 1;
}

/* The combined action of every filter of tid on d (the kernel keeps the one
 * with the lowest signed action value). */
static int seccomp_eval(pid_t tid, const struct seccomp_data *d, uint32_t *action,
			struct lm_err *err)
{
	struct sock_filter *prog;
	uint32_t best = SECCOMP_RET_ALLOW;
	unsigned long idx;

	prog = malloc(FILTER_INSNS_MAX * sizeof(*prog));
	if (!prog)
		return lm_err_set(err, LM_ENOMEM, "out of memory reading seccomp filters");
	for (idx = 0; idx < FILTERS_MAX; idx++) {
		long n = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)idx, NULL);
		uint32_t r;
		if (n < 0 && errno == ENOENT && idx > 0)
			break;
		if (n <= 0 || n > FILTER_INSNS_MAX ||
		    ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)idx, prog) != n) {
			int e = n < 0 ? errno : EINVAL, f;
			free(prog);
			/* The kernel shows filters only to an unfiltered tracer with
			 * CAP_SYS_ADMIN: use what the helper read, if it still holds. */
			f = idx == 0 ? seccomp_eval_fetched(tid, d, action) : 0;
			if (f > 0)
				return 0;
			if (f < 0)
				return lm_err_set(err, LM_ELIMIT,
						  "thread %d has a seccomp filter we cannot evaluate; "
						  "not injecting into it", (int)tid);
			return lm_err_errno(err, LM_ELIMIT, e,
					    "thread %d has a seccomp filter we cannot read (needs "
					    "CAP_SYS_ADMIN without a filter of our own, or the "
					    "leakmon-filters helper); not injecting into it", (int)tid);
		}
		if (lm_seccomp_bpf_run(prog, (unsigned)n, d, &r) < 0) {
			free(prog);
			return lm_err_set(err, LM_ELIMIT,
					  "thread %d has a seccomp filter we cannot evaluate; "
					  "not injecting into it", (int)tid);
		}
		if ((int32_t)(r & SECCOMP_RET_ACTION_FULL) <
		    (int32_t)(best & SECCOMP_RET_ACTION_FULL))
			best = r;
	}
	free(prog);
	if (idx == FILTERS_MAX)
		return lm_err_set(err, LM_ELIMIT, "thread %d has too many seccomp filters",
				  (int)tid);
	*action = best;
	return 0;
}

int lm_inject_seccomp_allows(pid_t tid, const struct user_regs_struct *regs,
			     struct lm_err *err)
{
	struct seccomp_data d;
	uint32_t action = SECCOMP_RET_KILL_PROCESS;
	int mode = seccomp_mode(tid), r;

	if (mode == 0)
		return 0;
	if (mode != 2)
		return lm_err_set(err, LM_ELIMIT,
				  "thread %d runs in seccomp %s mode; cannot inject a system call",
				  (int)tid, mode == 1 ? "strict" : "unknown");
	memset(&d, 0, sizeof(d));
	d.nr = (int)regs->rax;
	d.arch = AUDIT_ARCH_X86_64;
	d.instruction_pointer = regs->rip + 2;	/* the kernel sees the ip after `syscall` */
	d.args[0] = regs->rdi;
	d.args[1] = regs->rsi;
	d.args[2] = regs->rdx;
	d.args[3] = regs->r10;
	d.args[4] = regs->r8;
	d.args[5] = regs->r9;
	r = seccomp_eval(tid, &d, &action, err);
	if (r < 0)
		return r;
	if ((action & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_ALLOW)
		return 0;
	return lm_err_set(err, LM_ELIMIT,
			  "the seccomp filter of thread %d would %s (action %#x) for system call %d",
			  (int)tid, seccomp_action_name(action), action, d.nr);
}

/* ------------------------------------------------------------- injection */

int lm_inject_thread_usable(pid_t tid)
{
	siginfo_t si;

	if (ptrace(PTRACE_GETSIGINFO, tid, NULL, &si) < 0)
		return 0;
	return si.si_signo == SIGTRAP && si.si_code == (SIGTRAP | (PTRACE_EVENT_STOP << 8));
}

/* -LM_EEXITED when tid cannot be waited for (it is gone). */
static int wait_tid(pid_t tid, int *status)
{
	for (;;) {
		pid_t r = waitpid(tid, status, __WALL);
		if (r == tid)
			return 0;
		if (r < 0 && errno == EINTR)
			continue;
		return -LM_EEXITED;
	}
}

static int is_syscall_stop(int status)
{
	return WIFSTOPPED(status) && WSTOPSIG(status) == (SIGTRAP | 0x80);
}

static int is_clone_event(int status)
{
	return WIFSTOPPED(status) && (status >> 8) == (SIGTRAP | (PTRACE_EVENT_CLONE << 8));
}

/* An unexpected stop: if it is a signal-delivery-stop, the signal was taken
 * off the thread's queue; put it back so the target does not lose it. */
static int unexpected_stop(pid_t tid, int status, struct lm_err *err)
{
	if (WIFEXITED(status) || WIFSIGNALED(status))
		return lm_err_set(err, LM_EEXITED, "thread %d exited during an injected syscall",
				  (int)tid);
	if (WIFSTOPPED(status) && (status >> 16) == 0 && WSTOPSIG(status) != SIGTRAP)
		syscall(SYS_tkill, tid, WSTOPSIG(status));
	return lm_err_set(err, LM_EBUSY,
			  "thread %d stopped unexpectedly (status %#x) during an injected syscall; "
			  "retry", (int)tid, status);
}

/* Resume to the syscall's exit stop: entry stop, the clone event if any,
 * exit stop. The result goes to *ret, a clone's child to *child. */
static int run_to_exit(pid_t tid, long *ret, pid_t *child, struct lm_err *err)
{
	struct user_regs_struct regs;
	int status, entered = 0, i;

	for (i = 0; i < WAIT_EVENTS_MAX; i++) {
		if (ptrace(PTRACE_SYSCALL, tid, NULL, NULL) < 0)
			return lm_err_errno(err, LM_EIO, errno, "cannot resume thread %d",
					    (int)tid);
		if (wait_tid(tid, &status) < 0)
			return lm_err_set(err, LM_EEXITED,
					  "thread %d vanished during an injected syscall", (int)tid);
		if (is_clone_event(status)) {
			unsigned long msg = 0;
			step(4);
			if (ptrace(PTRACE_GETEVENTMSG, tid, NULL, &msg) == 0)
				*child = (pid_t)msg;
			continue;
		}
		if (!is_syscall_stop(status))
			return unexpected_stop(tid, status, err);
		if (!entered) {
			entered = 1;
			step(3);
			continue;
		}
		step(5);
		if (ptrace(PTRACE_GETREGS, tid, NULL, &regs) < 0)
			return lm_err_errno(err, LM_EIO, errno, "cannot read registers of thread %d",
					    (int)tid);
		*ret = (long)regs.rax;
		return 0;
	}
	return lm_err_set(err, LM_EBUSY, "thread %d kept stopping during an injected syscall",
			  (int)tid);
}

/* Put back registers, signal mask and options; all three must succeed. */
static int restore_thread(pid_t tid, const struct user_regs_struct *saved, uint64_t mask,
			  struct lm_err *err)
{
	int ok = 1;

	ok &= ptrace(PTRACE_SETREGS, tid, NULL, saved) == 0;
	ok &= ptrace(PTRACE_SETSIGMASK, tid, (void *)sizeof(mask), &mask) == 0;
	ok &= ptrace(PTRACE_SETOPTIONS, tid, NULL, 0) == 0;
	if (ok)
		return 0;
	return lm_err_errno(err, LM_EIO, errno,
			    "cannot restore the state of thread %d after an injected syscall",
			    (int)tid);
}

int lm_inject_syscall(pid_t tid, const struct user_regs_struct *saved,
		      const struct lm_gadget *g, long nr, const uint64_t args[6],
		      struct lm_inject_result *res, struct lm_err *err)
{
	struct user_regs_struct regs;
	uint64_t mask, all = ~(uint64_t)0;
	long opts = PTRACE_O_TRACESYSGOOD | (nr == SYS_clone ? PTRACE_O_TRACECLONE : 0);
	struct stub stub;
	int r, r2;

	memset(res, 0, sizeof(*res));
	if (ptrace(PTRACE_GETSIGMASK, tid, (void *)sizeof(mask), &mask) < 0)
		return lm_err_errno(err, LM_EIO, errno, "cannot read the signal mask of thread %d",
				    (int)tid);
	if (g->pad) {
		if (build_stub(saved, mask, nr == SYS_clone, g->pad, &stub) < 0 ||
		    stub_write(tid, g, &stub) < 0)
			return lm_err_set(err, LM_EBUSY,
					  "cannot write the restore stub at %#llx in thread %d "
					  "(the padding is not free)", (unsigned long long)g->pad,
					  (int)tid);
		step(1);
	}
	lm_inject_regs(saved, g, nr, args, &regs);
	if (ptrace(PTRACE_SETOPTIONS, tid, NULL, (void *)opts) < 0 ||
	    ptrace(PTRACE_SETSIGMASK, tid, (void *)sizeof(all), &all) < 0 ||
	    ptrace(PTRACE_SETREGS, tid, NULL, &regs) < 0) {
		r = lm_err_errno(err, LM_EIO, errno, "cannot prepare thread %d for a syscall",
				 (int)tid);
		restore_thread(tid, saved, mask, NULL);
		if (g->pad)
			stub_erase(tid, g, stub.n);
		return r;
	}
	step(2);
	r = run_to_exit(tid, &res->ret, &res->child, err);
	r2 = restore_thread(tid, saved, mask, r < 0 ? NULL : err);
	step(6);
	if (g->pad)
		stub_erase(tid, g, stub.n);
	return r < 0 ? r : r2;
}

int lm_inject_syscall_raw(pid_t tid, const struct user_regs_struct *base,
			  const struct lm_gadget *g, long nr, const uint64_t args[6],
			  long *ret, struct lm_err *err)
{
	struct user_regs_struct regs;
	struct lm_gadget gg = *g;
	pid_t child = 0;

	gg.pad = 0;	/* the copy is ours: no stub needed */
	lm_inject_regs(base, &gg, nr, args, &regs);
	if (ptrace(PTRACE_SETOPTIONS, tid, NULL, (void *)(long)(PTRACE_O_TRACESYSGOOD |
								  PTRACE_O_EXITKILL)) < 0 ||
	    ptrace(PTRACE_SETREGS, tid, NULL, &regs) < 0)
		return lm_err_errno(err, LM_EIO, errno, "cannot prepare process %d for a syscall",
				    (int)tid);
	return run_to_exit(tid, ret, &child, err);
}

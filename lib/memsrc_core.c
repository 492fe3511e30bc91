/* SPDX-License-Identifier: MIT */
/*
 * memsrc_core.c - the core-file source: an ELF core (gdb's gcore, the
 * kernel's, systemd-coredump's) read through its program headers.
 *
 * The file is mmap'ed read-only and never copied:
 *  - each PT_LOAD with file bytes is a region pointing into the mmap (a
 *    segment whose filesz is below memsz has its tail absent: the dumper
 *    left it out);
 *  - the NT_FILE note names the file behind each address range; together
 *    with the PT_LOAD flags it rebuilds the mappings (a PT_LOAD may span
 *    several NT_FILE entries, or none: anonymous memory);
 *  - NT_PRSTATUS gives each thread's id and registers (pr_reg has the
 *    layout of struct user_regs_struct on x86_64), NT_FPREGSET its FPU
 *    registers, NT_PRPSINFO the pid, NT_AUXV the executable's program
 *    headers (AT_PHDR) and the vDSO (AT_SYSINFO_EHDR).
 * Cores do not name [heap] and [stack]: we name the mapping holding the main
 * thread's stack pointer [stack], and the first anonymous writable mapping
 * above the executable (where brk starts, at most 1 GiB further) [heap].
 *
 * Every offset and size in the file is checked before use: a truncated or
 * hostile core gives LM_ECORRUPT naming the offset, never a crash.
 */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <unistd.h>

#include "memsrc.h"

#ifndef NT_FILE
#define NT_FILE 0x46494c45
#endif

#define CORE_MAX_SEGMENTS (1u << 20)
#define CORE_MAX_THREADS (1u << 20)
#define CORE_MAX_FILES (1u << 20)
#define BRK_RANDOM_MAX ((1ull << 30) + 4096)	/* x86_64 brk randomisation: 32 MiB, 1 GiB since Linux 6.x */

struct core_impl {
	const uint8_t *base;
	size_t size;
};

/* One NT_FILE entry; path points into the mmap (NUL-terminated, checked). */
struct core_file {
	uint64_t start, end, offset;
	const char *path;
};

/* Everything gathered from the notes. */
struct core_notes {
	struct core_file *files;
	size_t nfiles;
	uint64_t at_phdr, at_sysinfo_ehdr;
	pid_t pid;
	int have_psinfo;
};

struct core_reader {
	const char *path;
	const uint8_t *base;
	size_t size;
	struct lm_err *err;
};

static int corrupt(struct core_reader *cr, uint64_t off, const char *what)
{
	return lm_err_set(cr->err, LM_ECORRUPT,
			  "core file %s is corrupt or truncated at offset %#llx: %s",
			  cr->path, (unsigned long long)off, what);
}

/* Is [off, off+len) inside the file? Overflow-safe. */
static int in_file(const struct core_reader *cr, uint64_t off, uint64_t len)
{
	return off <= cr->size && len <= cr->size - off;
}

static int check_header(struct core_reader *cr, const Elf64_Ehdr **ehp, uint64_t *phnum)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)cr->base;

	if (cr->size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
		return lm_err_set(cr->err, LM_ECORRUPT, "%s is not an ELF file", cr->path);
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_X86_64)
		return lm_err_set(cr->err, LM_ECORRUPT,
				  "%s is not an x86_64 ELF file (leakmon reads x86_64 cores only)",
				  cr->path);
	if (eh->e_type != ET_CORE)
		return lm_err_set(cr->err, LM_ECORRUPT,
				  "%s is an ELF file but not a core dump (e_type %u)", cr->path,
				  (unsigned)eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return corrupt(cr, offsetof(Elf64_Ehdr, e_phentsize), "bad program header size");
	*phnum = eh->e_phnum;
	if (eh->e_phnum == PN_XNUM) {
		/* More than 65534 segments: the count is in section 0's sh_info. */
		const Elf64_Shdr *sh;
		if (!in_file(cr, eh->e_shoff, sizeof(*sh)) || eh->e_shoff % 8)
			return corrupt(cr, offsetof(Elf64_Ehdr, e_shoff),
				       "extended segment count without a section header");
		sh = (const Elf64_Shdr *)(cr->base + eh->e_shoff);
		*phnum = sh->sh_info;
	}
	if (*phnum > CORE_MAX_SEGMENTS)
		return corrupt(cr, offsetof(Elf64_Ehdr, e_phnum), "implausible segment count");
	if (!in_file(cr, eh->e_phoff, *phnum * sizeof(Elf64_Phdr)) || eh->e_phoff % 8)
		return corrupt(cr, eh->e_phoff, "program headers lie outside the file");
	*ehp = eh;
	return 0;
}

static int add_thread(struct lm_memsrc *src, pid_t tid, const void *regs)
{
	struct lm_thread_regs *nv;

	if (src->nthreads >= CORE_MAX_THREADS)
		return -LM_ELIMIT;
	/* capacity doubles at each power of two: a core may hold a million
	 * threads, one realloc each would copy the array a million times */
	if ((src->nthreads & (src->nthreads - 1)) == 0) {
		nv = realloc(src->threads, (src->nthreads ? 2 * src->nthreads : 1) * sizeof(*nv));
		if (!nv)
			return -LM_ENOMEM;
		src->threads = nv;
	}
	nv = src->threads;
	memset(&nv[src->nthreads], 0, sizeof(*nv));
	nv[src->nthreads].tid = tid;
	memcpy(&nv[src->nthreads].regs, regs, sizeof(nv->regs));
	src->nthreads++;
	return 0;
}

static int parse_nt_file(struct core_reader *cr, const uint8_t *desc, uint64_t descsz,
			 uint64_t off, struct core_notes *cn)
{
	uint64_t count, page, i;
	const char *names, *end = (const char *)desc + descsz;

	if (cn->files)
		return 0;	/* only the first NT_FILE counts */
	if (descsz < 16)
		return corrupt(cr, off, "NT_FILE note too short");
	memcpy(&count, desc, 8);
	memcpy(&page, desc + 8, 8);
	if (count > CORE_MAX_FILES || count > (descsz - 16) / 24)
		return corrupt(cr, off, "NT_FILE count exceeds the note");
	if (page == 0 || (page & (page - 1)) || page > (1u << 30))
		return corrupt(cr, off, "NT_FILE page size is not a power of two");
	cn->files = calloc(count ? count : 1, sizeof(*cn->files));
	if (!cn->files)
		return lm_err_set(cr->err, LM_ENOMEM, "out of memory reading %s", cr->path);
	names = (const char *)desc + 16 + count * 24;
	for (i = 0; i < count; i++) {
		struct core_file *f = &cn->files[i];
		const char *nul;
		uint64_t v[3];
		memcpy(v, desc + 16 + i * 24, sizeof(v));
		nul = memchr(names, '\0', (size_t)(end - names));
		if (!nul)
			return corrupt(cr, off, "NT_FILE path not terminated");
		if (v[1] < v[0] || v[2] > UINT64_MAX / page)
			return corrupt(cr, off, "NT_FILE entry with a bad range");
		f->start = v[0];
		f->end = v[1];
		f->offset = v[2] * page;
		f->path = names;
		names = nul + 1;
	}
	cn->nfiles = (size_t)count;
	return 0;
}

static int parse_note(struct core_reader *cr, struct lm_memsrc *src, uint32_t type,
		      const char *name, uint32_t namesz, const uint8_t *desc, uint64_t descsz,
		      uint64_t off, struct core_notes *cn)
{
	/* Only the kernel's (and gdb's) "CORE" notes; "LINUX" ones hold
	 * xstate and the like, which we do not need. */
	if (namesz != 5 || memcmp(name, "CORE", 5) != 0)
		return 0;
	switch (type) {
	case NT_PRSTATUS: {
		struct elf_prstatus ps;
		if (descsz < sizeof(ps))
			return corrupt(cr, off, "NT_PRSTATUS note too short");
		memcpy(&ps, desc, sizeof(ps));
		if (sizeof(ps.pr_reg) != sizeof(struct user_regs_struct) ||
		    add_thread(src, ps.pr_pid, &ps.pr_reg) < 0)
			return lm_err_set(cr->err, LM_ENOMEM, "out of memory reading %s", cr->path);
		break;
	}
	case NT_FPREGSET:
		/* Follows its thread's NT_PRSTATUS. */
		if (src->nthreads && descsz >= sizeof(struct user_fpregs_struct))
			memcpy(&src->threads[src->nthreads - 1].fpregs, desc,
			       sizeof(struct user_fpregs_struct));
		break;
	case NT_PRPSINFO: {
		struct elf_prpsinfo pi;
		if (descsz < sizeof(pi))
			return corrupt(cr, off, "NT_PRPSINFO note too short");
		memcpy(&pi, desc, sizeof(pi));
		cn->pid = pi.pr_pid;
		cn->have_psinfo = 1;
		break;
	}
	case NT_AUXV: {
		uint64_t i, kv[2];
		for (i = 0; i + 16 <= descsz; i += 16) {
			memcpy(kv, desc + i, sizeof(kv));
			if (kv[0] == AT_NULL)
				break;
			if (kv[0] == AT_PHDR)
				cn->at_phdr = kv[1];
			else if (kv[0] == AT_SYSINFO_EHDR)
				cn->at_sysinfo_ehdr = kv[1];
		}
		break;
	}
	case NT_FILE:
		return parse_nt_file(cr, desc, descsz, off, cn);
	}
	return 0;
}

static int parse_notes(struct core_reader *cr, struct lm_memsrc *src, const Elf64_Phdr *ph,
		       struct core_notes *cn)
{
	uint64_t pos = ph->p_offset, end;
	size_t count = 0;

	if (!in_file(cr, ph->p_offset, ph->p_filesz))
		return corrupt(cr, ph->p_offset, "note segment extends past the end of the file");
	end = ph->p_offset + ph->p_filesz;
	while (pos < end) {
		Elf64_Nhdr nh;
		uint64_t namepad, descpad, descoff;
		int r;

		if (end - pos < sizeof(nh))
			return corrupt(cr, pos, "truncated note header");
		if (++count > 4 * CORE_MAX_THREADS)
			return corrupt(cr, pos, "too many notes");
		memcpy(&nh, cr->base + pos, sizeof(nh));
		namepad = ((uint64_t)nh.n_namesz + 3) & ~3ull;
		descpad = ((uint64_t)nh.n_descsz + 3) & ~3ull;
		if (namepad > end - pos - sizeof(nh) ||
		    descpad > end - pos - sizeof(nh) - namepad)
			return corrupt(cr, pos, "note overruns its segment");
		descoff = pos + sizeof(nh) + namepad;
		r = parse_note(cr, src, nh.n_type, (const char *)cr->base + pos + sizeof(nh),
			       nh.n_namesz, cr->base + descoff, nh.n_descsz, pos, cn);
		if (r < 0)
			return r;
		pos = descoff + descpad;
	}
	return 0;
}

static unsigned prot_of(uint32_t flags)
{
	return (flags & PF_R ? LM_PROT_R : 0) | (flags & PF_W ? LM_PROT_W : 0) |
	       (flags & PF_X ? LM_PROT_X : 0);
}

static int push_mapping(struct lm_maps *maps, size_t *cap, uint64_t start, uint64_t end,
			unsigned prot, uint64_t offset, const char *path)
{
	struct lm_mapping *m;

	if (start >= end)
		return 0;
	if (maps->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct lm_mapping *nv = realloc(maps->v, nc * sizeof(*nv));
		if (!nv)
			return -LM_ENOMEM;
		maps->v = nv;
		*cap = nc;
	}
	m = &maps->v[maps->n];
	memset(m, 0, sizeof(*m));
	m->start = start;
	m->end = end;
	m->prot = prot;
	m->offset = offset;
	if (path && !(m->path = strdup(path)))
		return -LM_ENOMEM;
	maps->n++;
	return 0;
}

static int mapping_cmp(const void *a, const void *b)
{
	const struct lm_mapping *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int file_cmp(const void *a, const void *b)
{
	const struct core_file *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int phdr_cmp(const void *a, const void *b)
{
	const Elf64_Phdr *x = *(const Elf64_Phdr *const *)a, *y = *(const Elf64_Phdr *const *)b;
	return x->p_vaddr < y->p_vaddr ? -1 : x->p_vaddr > y->p_vaddr;
}

/* A hostile core can declare NT_FILE ranges that overlap (a million
 * entries each covering everything): every segment would then visit every
 * entry. Sorted by start, each entry is cut to begin where the previous one
 * ends, and empty ones dropped, so that the walks below stay linear. */
static void files_disjoint(struct core_notes *cn)
{
	size_t i, n = 0;
	uint64_t prev_end = 0;

	for (i = 0; i < cn->nfiles; i++) {
		struct core_file f = cn->files[i];
		if (n > 0 && f.start < prev_end) {
			if (f.end <= prev_end)
				continue;
			f.offset += prev_end - f.start;
			f.start = prev_end;
		}
		if (f.start >= f.end)
			continue;
		cn->files[n++] = f;
		prev_end = f.end;
	}
	cn->nfiles = n;
}

/* One PT_LOAD's address range cut along the NT_FILE entries it covers,
 * from `from` on (the end of the previous segment: overlapping segments
 * are mapped once). */
static int map_segment(struct lm_maps *maps, size_t *cap, const Elf64_Phdr *ph,
		       const struct core_notes *cn, size_t *fi, uint64_t from)
{
	uint64_t s = ph->p_vaddr > from ? ph->p_vaddr : from, e = ph->p_vaddr + ph->p_memsz, cur = s;
	unsigned prot = prot_of(ph->p_flags);
	size_t k;

	if (s >= e)
		return 0;
	while (*fi < cn->nfiles && cn->files[*fi].end <= s)
		(*fi)++;
	for (k = *fi; k < cn->nfiles && cn->files[k].start < e; k++) {
		const struct core_file *f = &cn->files[k];
		uint64_t fs = f->start > cur ? f->start : cur;
		uint64_t fe = f->end < e ? f->end : e;
		if (fe <= cur)
			continue;
		if (push_mapping(maps, cap, cur, fs, prot, 0, NULL) < 0 ||
		    push_mapping(maps, cap, fs, fe, prot, f->offset + (fs - f->start), f->path) < 0)
			return -LM_ENOMEM;
		cur = fe;
	}
	return push_mapping(maps, cap, cur, e, prot, 0, NULL);
}

/* gdb leaves read-only file mappings (code) out of its cores altogether,
 * with no PT_LOAD: the NT_FILE ranges no segment covers become mappings
 * too (flags unknown: read-only), so modules' code stays locatable.
 * maps holds the segments' mappings in address order. */
static int add_unloaded_files(struct lm_maps *maps, size_t *cap, const struct core_notes *cn)
{
	size_t nseg = maps->n, f, lo;

	for (f = 0; f < cn->nfiles; f++) {
		const struct core_file *cf = &cn->files[f];
		uint64_t cur = cf->start;
		size_t hi = nseg;
		/* First segment mapping ending after cur. */
		lo = 0;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (maps->v[mid].end <= cur)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < nseg && maps->v[lo].start < cf->end && cur < cf->end; lo++) {
			if (maps->v[lo].start > cur &&
			    push_mapping(maps, cap, cur, maps->v[lo].start, LM_PROT_R,
					 cf->offset + (cur - cf->start), cf->path) < 0)
				return -LM_ENOMEM;
			if (maps->v[lo].end > cur)
				cur = maps->v[lo].end;
		}
		if (cur < cf->end &&
		    push_mapping(maps, cap, cur, cf->end, LM_PROT_R,
				 cf->offset + (cur - cf->start), cf->path) < 0)
			return -LM_ENOMEM;
	}
	return 0;
}

/* The heap can be several adjacent mappings (madvise or mprotect on part
 * of it splits it, and the core has one segment per mapping): name each. */
static void name_heap(struct lm_maps *maps, size_t i)
{
	do
		maps->v[i].path = strdup("[heap]");
	while (++i < maps->n && maps->v[i].start == maps->v[i - 1].end && !maps->v[i].path &&
	       (maps->v[i].prot & LM_PROT_W));
}

/* Name [stack] and [heap], which cores do not record, and [vdso]. */
static void name_special(struct lm_memsrc *src, const struct core_notes *cn)
{
	struct lm_maps *maps = &src->maps;
	struct lm_mapping *m0;
	uint64_t exe_end = 0;
	size_t i;

	for (i = 0; i < src->nthreads; i++) {
		struct lm_mapping *m;
		if (src->threads[i].tid != src->pid)
			continue;
		m = (struct lm_mapping *)lm_maps_find(maps, src->threads[i].regs.rsp);
		if (m && !m->path)
			m->path = strdup("[stack]");
	}
	if (cn->at_sysinfo_ehdr) {
		struct lm_mapping *m = (struct lm_mapping *)lm_maps_find(maps, cn->at_sysinfo_ehdr);
		if (m && !m->path)
			m->path = strdup("[vdso]");
	}
	m0 = (struct lm_mapping *)lm_maps_find(maps, 0xffffffffff600000ull);
	if (m0 && !m0->path)
		m0->path = strdup("[vsyscall]");
	for (i = 0; i < maps->n; i++)
		if (src->exe && maps->v[i].path && !strcmp(maps->v[i].path, src->exe) &&
		    maps->v[i].end > exe_end)
			exe_end = maps->v[i].end;
	if (!exe_end)
		return;
	/* Skip the anonymous tail of the executable's .bss (adjacent to its
	 * last file mapping); the next anonymous writable mapping within the
	 * brk randomisation range is the heap. */
	for (i = 0; i < maps->n; i++) {
		struct lm_mapping *m = &maps->v[i];
		if (m->start < exe_end)
			continue;
		if (m->start == exe_end && !m->path) {
			exe_end = m->end;
			continue;
		}
		if (m->start - exe_end > BRK_RANDOM_MAX)
			break;
		if (!m->path && (m->prot & LM_PROT_W)) {
			name_heap(maps, i);
			break;
		}
	}
}

static int build_maps_and_regions(struct core_reader *cr, struct lm_memsrc *src,
				  const Elf64_Phdr *phs, uint64_t phnum, struct core_notes *cn)
{
	const Elf64_Phdr **loads;
	size_t nloads = 0, i, cap = 0, fi = 0;
	uint64_t mapped_to = 0;
	int r = 0;

	loads = calloc(phnum ? phnum : 1, sizeof(*loads));
	if (!loads)
		return lm_err_set(cr->err, LM_ENOMEM, "out of memory reading %s", cr->path);
	for (i = 0; i < phnum; i++) {
		const Elf64_Phdr *ph = &phs[i];
		uint64_t off = (uint64_t)((const uint8_t *)ph - cr->base);
		if (ph->p_type != PT_LOAD)
			continue;
		if (ph->p_vaddr + ph->p_memsz < ph->p_vaddr || ph->p_filesz > ph->p_memsz) {
			r = corrupt(cr, off, "PT_LOAD segment with a bad address range");
			goto out;
		}
		if (ph->p_filesz && !in_file(cr, ph->p_offset, ph->p_filesz)) {
			r = corrupt(cr, ph->p_offset, "PT_LOAD segment extends past the end of the file");
			goto out;
		}
		loads[nloads++] = ph;
	}
	qsort(loads, nloads, sizeof(*loads), phdr_cmp);
	if (cn->nfiles) {
		qsort(cn->files, cn->nfiles, sizeof(*cn->files), file_cmp);
		files_disjoint(cn);
	}
	for (i = 0; i < nloads; i++) {
		uint64_t end = loads[i]->p_vaddr + loads[i]->p_memsz;
		if (map_segment(&src->maps, &cap, loads[i], cn, &fi, mapped_to) < 0) {
			r = lm_err_set(cr->err, LM_ENOMEM, "out of memory reading %s", cr->path);
			goto out;
		}
		if (end > mapped_to)
			mapped_to = end;
	}
	if (add_unloaded_files(&src->maps, &cap, cn) < 0) {
		r = lm_err_set(cr->err, LM_ENOMEM, "out of memory reading %s", cr->path);
		goto out;
	}
	for (i = 0; i < nloads; i++) {
		const Elf64_Phdr *ph = loads[i];
		if (!ph->p_filesz)
			continue;
		r = lm_memsrc_add_region(src, ph->p_vaddr, ph->p_vaddr + ph->p_filesz,
					 cr->base + ph->p_offset, NULL, cr->err);
		if (r < 0)
			goto out;
	}
out:
	free(loads);
	return r;
}

/* The executable: the NT_FILE entry holding AT_PHDR, else the first one. */
static int find_exe(struct lm_memsrc *src, const struct core_notes *cn)
{
	size_t i;

	if (!cn->nfiles)
		return 0;
	for (i = 0; i < cn->nfiles; i++)
		if (cn->at_phdr >= cn->files[i].start && cn->at_phdr < cn->files[i].end)
			break;
	if (i == cn->nfiles)
		i = 0;
	src->exe = strdup(cn->files[i].path);
	return src->exe ? 0 : -LM_ENOMEM;
}

static void core_free(struct lm_memsrc *src)
{
	struct core_impl *ci = src->impl;

	if (ci) {
		munmap((void *)ci->base, ci->size);
		free(ci);
	}
	src->impl = NULL;
}

static int map_file(const char *path, struct core_impl *ci, int64_t *mtime_us,
		    struct lm_err *err)
{
	struct stat sb;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		int e = errno;
		return lm_err_errno(err, e == EACCES ? LM_EPERM : LM_EIO,
				    e, "cannot open core file %s", path);
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0) {
		close(fd);
		return lm_err_set(err, LM_ECORRUPT, "%s is not a core file (not a non-empty regular file)",
				  path);
	}
	p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return lm_err_errno(err, LM_EIO, errno, "cannot map core file %s", path);
	ci->base = p;
	ci->size = (size_t)sb.st_size;
	*mtime_us = (int64_t)sb.st_mtim.tv_sec * 1000000 + sb.st_mtim.tv_nsec / 1000;
	return 0;
}

int lm_memsrc_open_core(const char *path, struct lm_memsrc **out, struct lm_err *err)
{
	struct core_notes cn = { 0 };
	struct core_reader cr = { path, NULL, 0, err };
	struct core_impl *ci;
	struct lm_memsrc *src;
	const Elf64_Ehdr *eh = NULL;
	const Elf64_Phdr *phs;
	uint64_t phnum = 0, i;
	int r;

	*out = NULL;
	r = lm_memsrc_new(LM_SRC_CORE, &src, err);
	if (r < 0)
		return r;
	ci = calloc(1, sizeof(*ci));
	if (!ci) {
		free(ci);
		lm_memsrc_close(src);
		return lm_err_set(err, LM_ENOMEM, "out of memory opening %s", path);
	}
	r = map_file(path, ci, &src->taken_at_us, err);
	if (r < 0) {
		free(ci);
		lm_memsrc_close(src);
		return r;
	}
	src->impl = ci;
	src->impl_free = core_free;
	cr.base = ci->base;
	cr.size = ci->size;

	r = check_header(&cr, &eh, &phnum);
	if (r < 0)
		goto fail;
	phs = (const Elf64_Phdr *)(cr.base + eh->e_phoff);
	for (i = 0; i < phnum && r == 0; i++)
		if (phs[i].p_type == PT_NOTE)
			r = parse_notes(&cr, src, &phs[i], &cn);
	if (r < 0)
		goto fail;
	r = build_maps_and_regions(&cr, src, phs, phnum, &cn);
	if (r < 0)
		goto fail;
	src->pid = cn.have_psinfo ? cn.pid : src->nthreads ? src->threads[0].tid : 0;
	if (find_exe(src, &cn) < 0) {
		r = lm_err_set(err, LM_ENOMEM, "out of memory opening %s", path);
		goto fail;
	}
	/* Sorted already unless segments overlap (a hostile core): the
	 * lookups need the order either way. */
	if (src->maps.n > 1)
		qsort(src->maps.v, src->maps.n, sizeof(*src->maps.v), mapping_cmp);
	name_special(src, &cn);
	lm_memsrc_sort_regions(src);
	for (i = 0; i < src->nregions; i++)
		src->regions[i].map = lm_maps_find(&src->maps, src->regions[i].start);
	free(cn.files);
	*out = src;
	return 0;
fail:
	free(cn.files);
	lm_memsrc_close(src);
	return r;
}

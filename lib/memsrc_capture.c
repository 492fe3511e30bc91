/* SPDX-License-Identifier: MIT */
/*
 * memsrc_capture.c - copying a stopped (or frozen) process's private
 * writable memory into local buffers; the live and the frozen-copy sources
 * both use it.
 *
 *  1. lm_capture_prepare (optional, while the process still runs): one
 *     buffer per run of adjacent mappings we copy, pre-faulted by writing
 *     it where the process has pages (pagemap): page faults in our own
 *     buffers during the copy tripled the stopped time.
 *  2. lm_capture_pid: copy with process_vm_readv, 4 MiB per iovec and up
 *     to 16 iovecs per call, only the pages that exist (pagemap: untouched
 *     anonymous pages are zeros, and reading them would fault them into the
 *     process); a partial copy falls back to page-sized reads for the piece
 *     that failed, and the pages that cannot be read are left out (the
 *     region is split around them).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "memsrc_capture.h"

#define PIECE_BYTES (4u << 20)
#define IOV_BATCH 16
#define PAGE 4096u

/* One local buffer for one mapping of the target. */
struct capbuf {
	uint64_t start;		/* target address the buffer mirrors */
	size_t len;		/* bytes (a multiple of the page size) */
	uint8_t *mem;
	int used;
};

struct lm_capture {
	struct capbuf *v;
	size_t n, cap;
	/* Anonymous mappings whose every page existed when prepared: copied
	 * whole while the target is stopped, without reading the pagemap
	 * again (that read is ~10% of the stop for a big heap). A page freed
	 * meanwhile just reads as zeros. Sorted by start. */
	struct full_range { uint64_t start, end; } *full;
	size_t nfull, capfull;
	int unpinned;		/* read through /proc/PID/mem (lm_capture_unpinned) */
};

/* A page-aligned range of the target we could not read. */
struct hole {
	uint64_t start, end;
};

struct holes {
	struct hole *v;
	size_t n, cap;
};

/* Mappings this big get transparent huge pages for their buffer: 512 times
 * fewer page faults to pre-fault and fewer TLB misses while copying. Small
 * ones (thread stacks, modules' data) stay on 4 KiB pages so that a few
 * touched pages do not cost 2 MiB each. */
#define HUGE_BUFFER_MIN (32u << 20)

static uint8_t *buffer_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (len >= HUGE_BUFFER_MIN)
		madvise(p, len, MADV_HUGEPAGE);
	return p;
}

/* Make [p, p+len) of a fresh buffer real memory by writing all of it.
 * MAP_POPULATE and MADV_POPULATE_WRITE are not enough everywhere: on a VM
 * whose host backs guest memory lazily (measured here: Firecracker, Linux
 * 6.18) the first write to a populated page still cost 1.7-3 s per GiB,
 * against 0.06 s once written (bench: /tmp/engine-mcpy2). */
static void prefault(uint8_t *p, size_t len)
{
	memset(p, 0, len);
}

static int capture_add(struct lm_capture *c, uint64_t start, size_t len, uint8_t *mem)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		struct capbuf *nv = realloc(c->v, cap * sizeof(*nv));
		if (!nv)
			return -LM_ENOMEM;
		c->v = nv;
		c->cap = cap;
	}
	c->v[c->n].start = start;
	c->v[c->n].len = len;
	c->v[c->n].mem = mem;
	c->v[c->n].used = 0;
	c->n++;
	return 0;
}

struct lm_capture *lm_capture_new(void)
{
	return calloc(1, sizeof(struct lm_capture));
}

void lm_capture_unpinned(struct lm_capture *c)
{
	c->unpinned = 1;
}

void lm_capture_free(struct lm_capture *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++)
		if (c->v[i].mem)
			munmap(c->v[i].mem, c->v[i].len);
	free(c->v);
	free(c->full);
	free(c);
}

/* Give back prepared buffers no mapping used. */
static void capture_drop_unused(struct lm_capture *c)
{
	size_t i, n = 0;

	for (i = 0; i < c->n; i++) {
		if (!c->v[i].used) {
			munmap(c->v[i].mem, c->v[i].len);
			continue;
		}
		c->v[n++] = c->v[i];
	}
	c->n = n;
}

/* The limit is on bytes that exist in the target (what we would copy and
 * hold), not on address space: a runtime that reserves 32 GiB and uses 1
 * is a 1 GiB capture. */
static int limit_error(struct lm_err *err, pid_t pid, uint64_t bytes, uint64_t max)
{
	return lm_err_set(err, LM_ELIMIT,
			  "pid %d has at least %llu MiB of writable memory to copy, more than "
			  "the capture limit of %llu MiB", (int)pid, (unsigned long long)(bytes >> 20),
			  (unsigned long long)(max >> 20));
}

/* The pid through which to read the process's memory and maps: its own,
 * unless the main thread has exited (pthread_exit in main) and is a zombie
 * whose memory is gone from /proc/PID and process_vm_readv(PID); then any
 * live thread of the group, which shares the memory. */
pid_t lm_memory_pid(pid_t pid)
{
	struct lm_proc_status ps;
	pid_t *tids, found = pid;
	size_t n, i;

	if (lm_proc_status(pid, &ps, NULL) < 0 || ps.state != 'Z')
		return pid;
	if (lm_proc_list_tasks(pid, &tids, &n, NULL) < 0)
		return pid;
	for (i = 0; i < n; i++)
		if (tids[i] != pid && lm_proc_status(tids[i], &ps, NULL) == 0 && ps.state != 'Z') {
			found = tids[i];
			break;
		}
	free(tids);
	return found;
}

/* Which pages of a mapping exist in the target: /proc/PID/pagemap, 8 bytes
 * per page, read PAGEMAP_CHUNK entries at a time. */
#define PAGEMAP_CHUNK 65536
#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)

struct pagemap {
	int fd;		/* /proc/PID/pagemap, or -1 (then: every page exists) */
	uint64_t *pm;	/* PAGEMAP_CHUNK entries */
};

static void pagemap_open(struct pagemap *pg, pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	pg->pm = malloc(PAGEMAP_CHUNK * sizeof(*pg->pm));
	pg->fd = pg->pm ? open(path, O_RDONLY | O_CLOEXEC) : -1;
}

static void pagemap_close(struct pagemap *pg)
{
	if (pg->fd >= 0)
		close(pg->fd);
	free(pg->pm);
	pg->fd = -1;
	pg->pm = NULL;
}

/* shared: the run's pages are not the process's alone (see page_class). */
typedef int (*range_fn)(void *ctx, uint64_t addr, uint64_t len, uint8_t *local, int shared);

#define PM_EXCLUSIVE (1ull << 56)	/* mapped by this process only */

/*
 * 0: the process does not have the page; 1: it has it, present and mapped
 * by it alone; 2: it has it, shared or swapped out. A page shared
 * copy-on-write with a child the process forked (a pre-forking server, a
 * Redis BGSAVE) must not be read with process_vm_readv: that pins it, and a
 * read-only pin of a shared anonymous page makes the kernel give the
 * process its own copy first (measured: a 200 MiB heap shared with a child
 * became 200 MiB more of the target's memory after one live census).
 * Class 2 is read through /proc/PID/mem, which does not pin.
 */
static int page_class(uint64_t e)
{
	if (!(e & (PM_PRESENT | PM_SWAPPED)))
		return 0;
	return (e & PM_PRESENT) && (e & PM_EXCLUSIVE) ? 1 : 2;
}

static int is_anonymous(const struct lm_mapping *m)
{
	return !m->path || m->path[0] == '[';
}

/* Call fn(ctx, addr, len, local) for every run of pages of m that exist in
 * the target (local: where addr goes in m's buffer), and gap(ctx, addr,
 * len, NULL) for every run of a file-backed m that does not (gap may be
 * NULL).
 * Anonymous memory the process never touched reads as zeros and is not
 * even allocated: copying it would fault every such page into the target
 * (8 MiB per untouched thread stack, whole sparse reservations), and
 * pre-faulting it would cost us memory. The pagemap tells which pages exist
 * (present or swapped); the others stay zero in our fresh buffer.
 * An absent page of a file-backed mapping is not zeros but the file's
 * bytes; reading it would fault the file into the target (and block on a
 * slow or hung FUSE/NFS file, or take 16 GiB for a sparse 16 GiB file), so
 * it is left out: a gap, no region. The process never wrote there (a written
 * page is its own anonymous copy, present or swapped), so no pointer it
 * stored lives there. Without a pagemap every page is taken. */
static int for_each_existing_run(struct pagemap *pg, const struct lm_mapping *m,
				 uint8_t *local, range_fn fn, range_fn gap, void *ctx)
{
	int anon = is_anonymous(m);
	uint64_t page, npages, first = m->start / PAGE;

	if (pg->fd < 0)
		return fn(ctx, m->start, m->end - m->start, local, 0);
	npages = (m->end - m->start) / PAGE;
	for (page = 0; page < npages;) {
		uint64_t want = npages - page < PAGEMAP_CHUNK ? npages - page : PAGEMAP_CHUNK;
		ssize_t got = pread(pg->fd, pg->pm, want * 8, (off_t)((first + page) * 8));
		uint64_t k, run = 0;
		int r, run_cls = 0;

		if (got < (ssize_t)(want * 8))
			/* No pagemap for this range: take it all. */
			return fn(ctx, m->start + page * PAGE, (npages - page) * PAGE,
				  local + page * PAGE, 0);
		for (k = 0; k <= want; k++) {
			int cls = k < want ? page_class(pg->pm[k]) : 0;
			if (cls && (!run || cls == run_cls)) {
				run++;
				run_cls = cls;
				continue;
			}
			if (run) {
				uint64_t at = page + k - run;
				r = fn(ctx, m->start + at * PAGE, run * PAGE, local + at * PAGE,
				       run_cls == 2);
				if (r < 0)
					return r;
				run = 0;
			}
			if (cls) {	/* the page that changed class starts a run */
				run = 1;
				run_cls = cls;
			} else if (k < want && !anon && gap) {
				r = gap(ctx, m->start + (page + k) * PAGE, PAGE, NULL, 0);
				if (r < 0)
					return r;
			}
		}
		page += want;
	}
	return 0;
}

/* ctx: bytes of pages the process has alone (a mapping all of whose pages
 * it has alone is copied whole, without the pagemap, while it is stopped). */
static int prefault_range(void *ctx, uint64_t addr, uint64_t len, uint8_t *local, int shared)
{
	uint64_t *bytes = ctx;

	(void)addr;
	prefault(local, (size_t)len);
	if (!shared)
		*bytes += len;
	return 0;
}

static int count_range(void *ctx, uint64_t addr, uint64_t len, uint8_t *local, int shared)
{
	(void)addr;
	(void)local;
	(void)shared;
	*(uint64_t *)ctx += len;
	return 0;
}

static void note_full(struct lm_capture *c, const struct lm_mapping *m)
{
	if (c->nfull == c->capfull) {
		size_t cap = c->capfull ? c->capfull * 2 : 16;
		struct full_range *nv = realloc(c->full, cap * sizeof(*nv));
		if (!nv)
			return;	/* only an optimisation */
		c->full = nv;
		c->capfull = cap;
	}
	c->full[c->nfull].start = m->start;
	c->full[c->nfull].end = m->end;
	c->nfull++;
}

static int was_full(const struct lm_capture *c, const struct lm_mapping *m)
{
	size_t lo = 0, hi = c->nfull;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->full[mid].start < m->start)
			lo = mid + 1;
		else if (c->full[mid].start > m->start)
			hi = mid;
		else
			return c->full[mid].end == m->end;
	}
	return 0;
}

/* Index past the run of adjacent wanted mappings that starts at i: a run
 * shares one buffer so that views may cross from one mapping into the
 * next (a module's .data into its .bss). */
static size_t run_end(const struct lm_maps *maps, size_t i)
{
	size_t j = i + 1;

	while (j < maps->n && lm_memsrc_wants_mapping(&maps->v[j]) &&
	       maps->v[j].start == maps->v[j - 1].end)
		j++;
	return j;
}

int lm_capture_prepare(struct lm_capture *c, pid_t pid, const struct lm_maps *maps,
		       uint64_t max_capture_bytes, struct lm_err *err)
{
	struct pagemap pg;
	uint64_t total;
	size_t i, j;

	pagemap_open(&pg, lm_memory_pid(pid));
	if (max_capture_bytes) {
		total = 0;
		for (i = 0; i < maps->n; i++)
			if (lm_memsrc_wants_mapping(&maps->v[i]))
				for_each_existing_run(&pg, &maps->v[i], NULL, count_range, NULL,
						      &total);
		if (total > max_capture_bytes) {
			pagemap_close(&pg);
			return limit_error(err, pid, total, max_capture_bytes);
		}
	}
	for (i = 0; i < maps->n; i = j) {
		uint64_t start = maps->v[i].start;
		size_t len, k;
		uint8_t *mem;
		if (!lm_memsrc_wants_mapping(&maps->v[i])) {
			j = i + 1;
			continue;
		}
		j = run_end(maps, i);
		len = (size_t)(maps->v[j - 1].end - start);
		mem = buffer_alloc(len);
		if (!mem || capture_add(c, start, len, mem) < 0) {
			if (mem)
				munmap(mem, len);
			pagemap_close(&pg);
			return lm_err_set(err, LM_ENOMEM,
					  "cannot allocate %zu bytes to copy mapping %#llx of pid %d",
					  len, (unsigned long long)start, (int)pid);
		}
		for (k = i; k < j; k++) {
			const struct lm_mapping *m = &maps->v[k];
			uint64_t bytes = 0;
			for_each_existing_run(&pg, m, mem + (m->start - start), prefault_range,
					      NULL, &bytes);
			if (bytes == m->end - m->start && is_anonymous(m))
				note_full(c, m);
		}
	}
	pagemap_close(&pg);
	return 0;
}

/* The buffer for [start, start+len): a prepared one that still fits, or a
 * new one. */
static uint8_t *buffer_for(struct lm_capture *c, uint64_t start, size_t len)
{
	size_t i;
	uint8_t *mem;

	for (i = 0; i < c->n; i++) {
		struct capbuf *b = &c->v[i];
		if (!b->used && b->start == start && b->len >= len) {
			b->used = 1;
			return b->mem;
		}
	}
	mem = buffer_alloc(len);
	if (!mem)
		return NULL;
	if (capture_add(c, start, len, mem) < 0) {
		munmap(mem, len);
		return NULL;
	}
	c->v[c->n - 1].used = 1;
	return mem;
}

static int holes_add(struct holes *h, uint64_t start, uint64_t end)
{
	if (h->n && h->v[h->n - 1].end == start) {
		h->v[h->n - 1].end = end;
		return 0;
	}
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		struct hole *nv = realloc(h->v, cap * sizeof(*nv));
		if (!nv)
			return -LM_ENOMEM;
		h->v = nv;
		h->cap = cap;
	}
	h->v[h->n].start = start;
	h->v[h->n].end = end;
	h->n++;
	return 0;
}

/* A piece of a mapping to copy: [addr, addr+len) into local. */
struct piece {
	uint64_t addr;
	size_t len;
	uint8_t *local;
	int unpinned;	/* read through /proc/PID/mem (page_class 2) */
};

static int exited_error(struct lm_err *err, pid_t pid)
{
	return lm_err_set(err, LM_EEXITED, "process %d exited during the snapshot", (int)pid);
}

/* Read one piece page by page after a failed bulk read; unreadable pages
 * become holes. */
static int read_pagewise(pid_t pid, const struct piece *p, struct holes *h,
			 struct lm_err *err)
{
	uint64_t a = p->addr & ~(uint64_t)(PAGE - 1);
	uint64_t end = p->addr + p->len;

	for (; a < end; a += PAGE) {
		uint64_t from = a < p->addr ? p->addr : a;
		uint64_t to = a + PAGE < end ? a + PAGE : end;
		struct iovec l = { p->local + (from - p->addr), (size_t)(to - from) };
		struct iovec r = { (void *)(uintptr_t)from, (size_t)(to - from) };
		ssize_t n = process_vm_readv(pid, &l, 1, &r, 1, 0);
		if (n < 0 && errno == ESRCH)
			return exited_error(err, pid);
		if (n == (ssize_t)(to - from))
			continue;
		if (holes_add(h, a, a + PAGE) < 0)
			return lm_err_set(err, LM_ENOMEM, "out of memory noting unreadable pages");
	}
	return 0;
}

/* Copy a batch of pieces; on a short read, finish the piece it stopped in
 * page by page and go on with the rest. */
static int read_batch(pid_t pid, struct piece *pc, size_t n, struct holes *h,
		      struct lm_err *err)
{
	while (n > 0) {
		struct iovec l[IOV_BATCH], r[IOV_BATCH];
		size_t i, want = 0;
		ssize_t got;

		for (i = 0; i < n; i++) {
			l[i].iov_base = pc[i].local;
			l[i].iov_len = pc[i].len;
			r[i].iov_base = (void *)(uintptr_t)pc[i].addr;
			r[i].iov_len = pc[i].len;
			want += pc[i].len;
		}
		got = process_vm_readv(pid, l, n, r, n, 0);
		if (got < 0) {
			int e = errno;
			if (e == ESRCH)
				return exited_error(err, pid);
			if (e == EPERM)
				return lm_err_errno(err, LM_EPERM, e, "cannot read memory of pid %d",
						    (int)pid);
			if (e == ENOMEM)
				return lm_err_set(err, LM_ENOMEM,
						  "out of memory reading memory of pid %d", (int)pid);
			got = 0;	/* EFAULT etc.: the first piece failed */
		}
		if ((size_t)got == want)
			return 0;
		/* Skip the pieces read whole, then salvage the one that failed. */
		while ((size_t)got >= pc->len) {
			got -= (ssize_t)pc->len;
			pc++;
			n--;
		}
		{
			struct piece rest = *pc;
			size_t done = (size_t)got & ~(size_t)(PAGE - 1);
			int rc;
			if (done > rest.len)
				done = rest.len;
			rest.addr += done;
			rest.local += done;
			rest.len -= done;
			rc = read_pagewise(pid, &rest, h, err);
			if (rc < 0)
				return rc;
		}
		pc++;
		n--;
	}
	return 0;
}

/* Add the regions of mapping m minus the holes inside it. */
static int add_mapping_regions(struct lm_memsrc *src, const struct lm_mapping *m,
			       const uint8_t *mem, const struct holes *h, size_t *hi,
			       struct lm_err *err)
{
	uint64_t at = m->start;
	int r;

	while (*hi < h->n && h->v[*hi].end <= m->start)
		(*hi)++;
	while (*hi < h->n && h->v[*hi].start < m->end) {
		const struct hole *x = &h->v[*hi];
		if (x->start > at) {
			r = lm_memsrc_add_region(src, at, x->start, mem + (at - m->start), m, err);
			if (r < 0)
				return r;
		}
		if (x->end > at)
			at = x->end;
		if (x->end > m->end)
			break;
		(*hi)++;
	}
	if (at < m->end)
		return lm_memsrc_add_region(src, at, m->end, mem + (at - m->start), m, err);
	return 0;
}

/* Read one piece through /proc/PID/mem (fd); unreadable pages become
 * holes. */
static int read_unpinned(int fd, pid_t pid, const struct piece *p, struct holes *h,
			 struct lm_err *err)
{
	size_t done = 0;

	while (done < p->len) {
		ssize_t n = pread(fd, p->local + done, p->len - done, (off_t)(p->addr + done));
		uint64_t page;
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || errno == ESRCH)
			return exited_error(err, pid);
		page = (p->addr + done) & ~(uint64_t)(PAGE - 1);
		if (holes_add(h, page, page + PAGE) < 0)
			return lm_err_set(err, LM_ENOMEM, "out of memory noting unreadable pages");
		done = (size_t)(page + PAGE - p->addr);
	}
	return 0;
}

/* Batches pieces into process_vm_readv calls. */
struct reader {
	pid_t pid;
	int mem_fd;		/* /proc/PID/mem, or -1 (then every piece is pinned) */
	int all_unpinned;	/* lm_capture_unpinned */
	uint64_t deadline_ns;
	struct piece batch[IOV_BATCH];
	size_t nb;
	struct holes h;
	struct pagemap pg;
	struct lm_err *err;
	uint64_t queued;	/* bytes queued so far */
	uint64_t max_bytes;	/* 0 = no limit */
};

static int reader_flush(struct reader *rd, struct lm_err *err)
{
	size_t i;
	int r = 0;

	struct piece pinned[IOV_BATCH];
	size_t np = 0;

	for (i = 0; i < rd->nb && r == 0; i++) {
		if (rd->mem_fd >= 0 && rd->batch[i].unpinned)
			r = read_unpinned(rd->mem_fd, rd->pid, &rd->batch[i], &rd->h, err);
		else
			pinned[np++] = rd->batch[i];
	}
	if (np && r == 0)
		r = read_batch(rd->pid, pinned, np, &rd->h, err);
	rd->nb = 0;
	if (r == 0 && rd->deadline_ns && lm_now_ns() > rd->deadline_ns)
		r = lm_err_set(err, LM_ELIMIT,
			       "capture of pid %d abandoned: the target would stay stopped "
			       "longer than the configured maximum pause", (int)rd->pid);
	return r;
}

/* Queue [addr, addr+len) for copying into local; shared: not the
 * process's alone (page_class 2). */
static int reader_add(struct reader *rd, uint64_t addr, uint64_t len, uint8_t *local,
		      int shared, struct lm_err *err)
{
	rd->queued += len;
	if (rd->max_bytes && rd->queued > rd->max_bytes)
		return limit_error(err, rd->pid, rd->queued, rd->max_bytes);
	while (len > 0) {
		struct piece *p = &rd->batch[rd->nb++];
		p->addr = addr;
		p->len = (size_t)(len < PIECE_BYTES ? len : PIECE_BYTES);
		p->local = local;
		p->unpinned = shared || rd->all_unpinned;
		addr += p->len;
		local += p->len;
		len -= p->len;
		if (rd->nb == IOV_BATCH) {
			int r = reader_flush(rd, err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int reader_range(void *ctx, uint64_t addr, uint64_t len, uint8_t *local, int shared)
{
	struct reader *rd = ctx;

	return reader_add(rd, addr, len, local, shared, rd->err);
}

/* A file-backed run the target does not have: not read, not a region. */
static int reader_gap(void *ctx, uint64_t addr, uint64_t len, uint8_t *local, int shared)
{
	struct reader *rd = ctx;

	(void)local;
	(void)shared;
	if (holes_add(&rd->h, addr, addr + len) < 0)
		return lm_err_set(rd->err, LM_ENOMEM, "out of memory noting absent pages");
	return 0;
}

static int hole_cmp(const void *a, const void *b)
{
	const struct hole *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Gaps are noted while queueing, unreadable pages when a batch is read:
 * sort them and merge the ones that touch. */
static void holes_sort(struct holes *h)
{
	size_t i, n = 0;

	if (h->n < 2)
		return;
	qsort(h->v, h->n, sizeof(*h->v), hole_cmp);
	for (i = 0; i < h->n; i++) {
		if (n && h->v[i].start <= h->v[n - 1].end) {
			if (h->v[i].end > h->v[n - 1].end)
				h->v[n - 1].end = h->v[i].end;
			continue;
		}
		h->v[n++] = h->v[i];
	}
	h->n = n;
}

int lm_capture_pid(struct lm_capture *c, struct lm_memsrc *src, pid_t pid,
		   uint64_t max_capture_bytes, uint64_t deadline_ns, struct lm_err *err)
{
	struct reader rd;
	uint8_t **bufs = NULL;
	size_t i, j, k, hi = 0;
	int r = 0;

	memset(&rd, 0, sizeof(rd));
	{
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
		rd.mem_fd = open(path, O_RDONLY | O_CLOEXEC);	/* else process_vm_readv */
	}
	rd.all_unpinned = c->unpinned;
	rd.max_bytes = max_capture_bytes;
	rd.pid = pid;
	rd.deadline_ns = deadline_ns;
	rd.err = err;
	pagemap_open(&rd.pg, pid);
	bufs = calloc(src->maps.n ? src->maps.n : 1, sizeof(*bufs));
	if (!bufs) {
		r = lm_err_set(err, LM_ENOMEM, "out of memory capturing pid %d", (int)pid);
		goto out;
	}
	for (i = 0; i < src->maps.n && r == 0; i = j) {
		const struct lm_mapping *m = &src->maps.v[i];
		uint8_t *mem;
		size_t len;
		if (!lm_memsrc_wants_mapping(m)) {
			j = i + 1;
			continue;
		}
		j = run_end(&src->maps, i);
		len = (size_t)(src->maps.v[j - 1].end - m->start);
		mem = buffer_for(c, m->start, len);
		if (!mem) {
			r = lm_err_set(err, LM_ENOMEM,
				       "cannot allocate %zu bytes to copy mapping %#llx of pid %d",
				       len, (unsigned long long)m->start, (int)pid);
			break;
		}
		for (k = i; k < j && r == 0; k++) {
			const struct lm_mapping *mk = &src->maps.v[k];
			bufs[k] = mem + (mk->start - m->start);
			if (was_full(c, mk))
				r = reader_add(&rd, mk->start, mk->end - mk->start, bufs[k], 0,
					       err);
			else
				r = for_each_existing_run(&rd.pg, mk, bufs[k], reader_range,
							  reader_gap, &rd);
		}
	}
	if (r == 0)
		r = reader_flush(&rd, err);
	if (r == 0)
		holes_sort(&rd.h);
	for (i = 0; i < src->maps.n && r == 0; i++)
		if (bufs[i])
			r = add_mapping_regions(src, &src->maps.v[i], bufs[i], &rd.h, &hi, err);
	if (r == 0)
		capture_drop_unused(c);
out:
	pagemap_close(&rd.pg);
	if (rd.mem_fd >= 0)
		close(rd.mem_fd);
	free(bufs);
	free(rd.h.v);
	return r;
}

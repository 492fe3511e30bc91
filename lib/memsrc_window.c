/* SPDX-License-Identifier: MIT */
/*
 * memsrc_window.c - a frozen process read on demand through a bounded
 * window (userfaultfd); see memsrc_window.h for the model.
 *
 * Loading a block: the process's pagemap for the block says which pages it
 * has (present or swapped); runs of those are read from /proc/PID/mem
 * into a staging buffer and placed with UFFDIO_COPY; runs it lacks are
 * mapped to the zero page (UFFDIO_ZEROPAGE: no memory, no read, the page
 * is never faulted into the process). Blocks are dropped in the order they
 * were loaded: the walker streams through the heap, so the oldest block is
 * the one it left longest ago.
 *
 * The serving thread allocates nothing and takes no lock a reader could
 * hold: a reader may fault anywhere, inside malloc or stdio included.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "memsrc_window.h"

#define PAGE 4096u
#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)
/* A guard region (MADV_GUARD_INSTALL; glibc 2.43 puts thread stack guards
 * inside the stack mapping this way) is a swap-like entry that faults on
 * any access: it has no data to read (Linux 6.15+ flags it in pagemap). */
#define PM_GUARD (1ull << 58)
#define PM_HAS_DATA(e) (((e) & (PM_PRESENT | PM_SWAPPED)) && !((e) & PM_GUARD))
#define BLOCK_PAGES (LM_WINDOW_BLOCK / PAGE)

/* Local address space mirroring [start, end) of the process. */
struct shadow {
	uint64_t start, end;
	uint8_t *mem;
};

/* A block currently mapped. */
struct loaded {
	uint8_t *at;
	size_t len;
};

struct lm_window {
	pid_t pid;
	int uffd;		/* userfaultfd */
	int pm_fd;		/* /proc/PID/pagemap, or -1 (then every page is read) */
	int mem_fd;		/* /proc/PID/mem */
	int stop[2];		/* pipe: close asks the server to end */
	struct shadow *sh;
	size_t nsh, capsh;
	uint8_t *staging;	/* LM_WINDOW_BLOCK bytes */
	uint64_t *pm;		/* BLOCK_PAGES pagemap entries */
	struct loaded *ring;	/* loaded blocks, oldest at head */
	size_t nring, head, count;
	const uint8_t *last;	/* block of the last fault */
	pthread_t th;
	int th_started;
	atomic_ulong loads;
	atomic_ulong lost_pages;	/* pages that could not be read */
	atomic_int lost_errno;
};

static int open_uffd(void)
{
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		/* Linux 6.1+: /dev/userfaultfd, for when the syscall is
		 * restricted to privileged callers. */
		int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
		if (dev >= 0) {
			fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
			close(dev);
		}
	}
	if (fd < 0)
		return -1;
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static struct shadow *shadow_of(struct lm_window *w, uint64_t local)
{
	size_t i;

	for (i = 0; i < w->nsh; i++) {
		uint64_t base = (uintptr_t)w->sh[i].mem;
		if (local >= base && local < base + (w->sh[i].end - w->sh[i].start))
			return &w->sh[i];
	}
	return NULL;
}

static void note_lost(struct lm_window *w, uint64_t pages, int e)
{
	atomic_fetch_add(&w->lost_pages, pages);
	atomic_store(&w->lost_errno, e);
}

/* Read [addr, addr+len) of the process into the staging buffer at off;
 * pages that cannot be read stay zero and are counted lost.
 * Through /proc/PID/mem, not process_vm_readv: the latter pins the pages
 * (FOLL_PIN), and a read-only pin of an anonymous page still shared
 * copy-on-write with the target makes the kernel give the copy its own
 * copy of the page first: reading the heap that way doubled it in the
 * target's cgroup for as long as the copy lived, and copying every page
 * was a third of the read's time. /proc/PID/mem reads without pinning. */
static void read_run(struct lm_window *w, uint64_t addr, size_t len, size_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = w->mem_fd < 0 ? -1 : pread(w->mem_fd, w->staging + off + done,
							len - done, (off_t)(addr + done));
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		/* Unreadable page (or no mem file): zeros, remembered. */
		memset(w->staging + off + done, 0, PAGE);
		note_lost(w, 1, n == 0 ? ESRCH : errno);
		done += PAGE;
	}
}

/* Place staging[off, off+len) at dst (UFFDIO_COPY), or the zero page. A
 * page already there (EEXIST) is skipped; EAGAIN is retried. */
static void place(struct lm_window *w, uint8_t *dst, size_t off, size_t len, int zero)
{
	size_t done = 0;

	while (done < len) {
		long got;
		int rc;
		if (zero) {
			struct uffdio_zeropage z = {
				.range = { (uintptr_t)(dst + done), len - done },
				.mode = UFFDIO_ZEROPAGE_MODE_DONTWAKE,
			};
			rc = ioctl(w->uffd, UFFDIO_ZEROPAGE, &z);
			got = z.zeropage;
		} else {
			struct uffdio_copy c = {
				.dst = (uintptr_t)(dst + done),
				.src = (uintptr_t)(w->staging + off + done),
				.len = len - done,
				.mode = UFFDIO_COPY_MODE_DONTWAKE,
			};
			rc = ioctl(w->uffd, UFFDIO_COPY, &c);
			got = c.copy;
		}
		if (rc == 0) {
			done = len;
		} else if (got > 0) {
			done += (size_t)got;
		} else if (got == -EEXIST || errno == EEXIST) {
			done += PAGE;
		} else if (got == -EAGAIN || errno == EAGAIN) {
			continue;
		} else {
			/* Nothing else can fix it: the reader then sees the
			 * fault again, so do not spin on it. */
			note_lost(w, (len - done) / PAGE, errno);
			return;
		}
	}
}

static int page_exists(const struct lm_window *w, int have_pm, uint64_t k)
{
	return !have_pm || PM_HAS_DATA(w->pm[k]);
}

/* Fill the block of shadow s at offset boff, len bytes. */
static void load_block(struct lm_window *w, struct shadow *s, size_t boff, size_t len)
{
	uint64_t addr = s->start + boff, npages = len / PAGE, k = 0;
	int have_pm = 0;

	if (w->pm_fd >= 0)
		have_pm = pread(w->pm_fd, w->pm, npages * 8, (off_t)(addr / PAGE * 8)) ==
			  (ssize_t)(npages * 8);
	while (k < npages) {
		int exists = page_exists(w, have_pm, k);
		uint64_t e = k + 1;
		size_t off = (size_t)k * PAGE, n;
		while (e < npages && page_exists(w, have_pm, e) == exists)
			e++;
		n = (size_t)(e - k) * PAGE;
		if (exists)
			read_run(w, addr + off, n, off);
		place(w, s->mem + boff + off, off, n, !exists);
		k = e;
	}
}

static void drop_oldest(struct lm_window *w)
{
	struct loaded *old = &w->ring[w->head];

	madvise(old->at, old->len, MADV_DONTNEED);
	w->head = (w->head + 1) % w->nring;
	w->count--;
}

static int is_loaded(const struct lm_window *w, const uint8_t *at)
{
	size_t i;

	for (i = 0; i < w->count; i++)
		if (w->ring[(w->head + i) % w->nring].at == at)
			return 1;
	return 0;
}

/* Map block boff of shadow s (unless it is already), dropping the oldest
 * when the window is full. Its length, or 0 past the end of s. */
static size_t ensure_block(struct lm_window *w, struct shadow *s, size_t boff)
{
	size_t size = (size_t)(s->end - s->start), len;

	if (boff >= size)
		return 0;
	len = size - boff < LM_WINDOW_BLOCK ? size - boff : LM_WINDOW_BLOCK;
	if (is_loaded(w, s->mem + boff))
		return len;
	if (w->count == w->nring)
		drop_oldest(w);
	load_block(w, s, boff, len);
	w->ring[(w->head + w->count) % w->nring] = (struct loaded){ s->mem + boff, len };
	w->count++;
	atomic_fetch_add(&w->loads, 1);
	return len;
}

static void serve_fault(struct lm_window *w, uint64_t local)
{
	struct shadow *s = shadow_of(w, local);
	struct uffdio_range wake;
	size_t boff, len;
	int streaming;

	if (!s) {
		/* Not ours (cannot happen: we registered only shadows);
		 * never leave a thread waiting. */
		wake.start = local & ~(uint64_t)(PAGE - 1);
		wake.len = PAGE;
		ioctl(w->uffd, UFFDIO_WAKE, &wake);
		return;
	}
	boff = (size_t)(local - (uintptr_t)s->mem) & ~(size_t)(LM_WINDOW_BLOCK - 1);
	/* A fault in the block after the last one is a reader streaming
	 * through (the walker, the scans): it will want the next block too. */
	streaming = w->last == s->mem + boff - LM_WINDOW_BLOCK || w->last == s->mem + boff;
	w->last = s->mem + boff;
	len = ensure_block(w, s, boff);
	wake.start = (uintptr_t)(s->mem + boff);
	wake.len = len;
	ioctl(w->uffd, UFFDIO_WAKE, &wake);
	/* Read it now, while the reader works on this one (the window holds
	 * at least four blocks: neither is dropped for the other). */
	if (streaming)
		ensure_block(w, s, boff + LM_WINDOW_BLOCK);
}

static void *serve(void *arg)
{
	struct lm_window *w = arg;
	struct pollfd p[2] = { { w->uffd, POLLIN, 0 }, { w->stop[0], POLLIN, 0 } };

	for (;;) {
		struct uffd_msg msg;
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (read(w->uffd, &msg, sizeof(msg)) != (ssize_t)sizeof(msg))
			continue;
		if (msg.event == UFFD_EVENT_PAGEFAULT)
			serve_fault(w, msg.arg.pagefault.address);
	}
	return NULL;
}

static int add_shadow(struct lm_window *w, uint64_t start, uint64_t end, struct lm_err *err)
{
	struct uffdio_register reg;
	size_t len = (size_t)(end - start);
	void *mem;

	if (w->nsh == w->capsh) {
		size_t cap = w->capsh ? w->capsh * 2 : 32;
		struct shadow *nv = realloc(w->sh, cap * sizeof(*nv));
		if (!nv)
			return lm_err_set(err, LM_ENOMEM, "out of memory mirroring pid %d",
					  (int)w->pid);
		w->sh = nv;
		w->capsh = cap;
	}
	mem = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return lm_err_errno(err, LM_ENOMEM, errno,
				    "cannot reserve %zu bytes of address space to mirror %#llx "
				    "of pid %d", len, (unsigned long long)start, (int)w->pid);
	/* UFFDIO_COPY fills 4 KiB pages; keep the kernel from collapsing
	 * them behind our back. */
	madvise(mem, len, MADV_NOHUGEPAGE);
	reg.range.start = (uintptr_t)mem;
	reg.range.len = len;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(w->uffd, UFFDIO_REGISTER, &reg) < 0) {
		int e = errno;
		munmap(mem, len);
		return lm_err_errno(err, LM_EIO, e, "userfaultfd cannot serve our memory");
	}
	w->sh[w->nsh++] = (struct shadow){ start, end, mem };
	return 0;
}

static int is_anonymous(const struct lm_mapping *m)
{
	return !m->path || m->path[0] == '[';
}

/* Regions of a file-backed mapping: only the pages the process has (an
 * absent one would be read from the file: see memsrc_capture.c). */
static int add_present_regions(struct lm_window *w, struct lm_memsrc *src,
			       const struct lm_mapping *m, const uint8_t *local,
			       struct lm_err *err)
{
	uint64_t npages = (m->end - m->start) / PAGE, page, k;
	uint64_t *pm = w->pm;
	int r;

	if (w->pm_fd < 0)
		return lm_memsrc_add_region(src, m->start, m->end, local, m, err);
	for (page = 0; page < npages; page += BLOCK_PAGES) {
		uint64_t want = npages - page < BLOCK_PAGES ? npages - page : BLOCK_PAGES;
		uint64_t run = 0;
		if (pread(w->pm_fd, pm, want * 8, (off_t)((m->start / PAGE + page) * 8)) !=
		    (ssize_t)(want * 8))
			return lm_memsrc_add_region(src, m->start + page * PAGE, m->end,
						    local + page * PAGE, m, err);
		for (k = 0; k <= want; k++) {
			if (k < want && PM_HAS_DATA(pm[k])) {
				run++;
				continue;
			}
			if (run) {
				uint64_t at = (page + k - run) * PAGE;
				/* Runs cut at a block boundary join again. */
				if (src->nregions && src->regions[src->nregions - 1].map == m &&
				    src->regions[src->nregions - 1].end == m->start + at) {
					src->regions[src->nregions - 1].end += run * PAGE;
					src->capture_bytes += run * PAGE;
				} else {
					r = lm_memsrc_add_region(src, m->start + at,
								 m->start + at + run * PAGE,
								 local + at, m, err);
					if (r < 0)
						return r;
				}
				run = 0;
			}
		}
	}
	return 0;
}

static int mirror_maps(struct lm_window *w, struct lm_memsrc *src, struct lm_err *err)
{
	const struct lm_maps *maps = &src->maps;
	size_t i, j, k;
	int r;

	for (i = 0; i < maps->n; i = j) {
		const struct shadow *s;
		j = i + 1;
		if (!lm_memsrc_wants_mapping(&maps->v[i]))
			continue;
		/* Adjacent mappings share one shadow, as they share one buffer
		 * in a capture: a view may cross from .data into .bss. */
		while (j < maps->n && lm_memsrc_wants_mapping(&maps->v[j]) &&
		       maps->v[j].start == maps->v[j - 1].end)
			j++;
		r = add_shadow(w, maps->v[i].start, maps->v[j - 1].end, err);
		if (r < 0)
			return r;
		s = &w->sh[w->nsh - 1];
		for (k = i; k < j; k++) {
			const struct lm_mapping *m = &maps->v[k];
			const uint8_t *local = s->mem + (m->start - s->start);
			r = is_anonymous(m) ? lm_memsrc_add_region(src, m->start, m->end, local, m, err)
					    : add_present_regions(w, src, m, local, err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int start_server(struct lm_window *w, struct lm_err *err)
{
	sigset_t all, old;
	int r;

	/* Signals belong to the caller's threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&w->th, NULL, serve, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return lm_err_errno(err, LM_ENOMEM, r, "cannot start the thread that reads pid %d",
				    (int)w->pid);
	w->th_started = 1;
	return 0;
}

int lm_window_open(struct lm_memsrc *src, pid_t pid, uint64_t window_bytes,
		   struct lm_window **out, struct lm_err *err)
{
	struct lm_window *w = calloc(1, sizeof(*w));
	char path[64];
	int r;

	*out = NULL;
	if (!w)
		return lm_err_set(err, LM_ENOMEM, "out of memory opening a window on pid %d",
				  (int)pid);
	w->pid = pid;
	w->stop[0] = w->stop[1] = -1;
	w->pm_fd = -1;
	w->mem_fd = -1;
	w->uffd = open_uffd();
	if (w->uffd < 0) {
		r = lm_err_errno(err, LM_EIO, errno, "no userfaultfd to read pid %d on demand",
				 (int)pid);
		goto fail;
	}
	w->nring = window_bytes / LM_WINDOW_BLOCK;
	if (w->nring < LM_WINDOW_MIN_BLOCKS)
		w->nring = LM_WINDOW_MIN_BLOCKS;
	w->ring = calloc(w->nring, sizeof(*w->ring));
	w->pm = malloc(BLOCK_PAGES * sizeof(*w->pm));
	w->staging = mmap(NULL, LM_WINDOW_BLOCK, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w->staging == MAP_FAILED)
		w->staging = NULL;
	if (!w->ring || !w->pm || !w->staging || pipe2(w->stop, O_CLOEXEC) < 0) {
		r = lm_err_set(err, LM_ENOMEM, "out of memory opening a window on pid %d", (int)pid);
		goto fail;
	}
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	w->pm_fd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	w->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (w->mem_fd < 0) {
		r = lm_err_errno(err, LM_EPERM, errno, "cannot open %s", path);
		goto fail;
	}
	r = mirror_maps(w, src, err);
	if (r == 0)
		r = start_server(w, err);
	if (r < 0)
		goto fail;
	*out = w;
	return 0;
fail:
	lm_window_close(w);
	return r;
}

int lm_window_check(const struct lm_window *w, struct lm_err *err)
{
	unsigned long lost = atomic_load(&w->lost_pages);
	int e = atomic_load(&w->lost_errno);

	if (!lost)
		return 0;
	if (e == ESRCH)	/* LM_EIO: the one that ended is not the target */
		return lm_err_set(err, LM_EIO,
				  "process %d ended while being read (%lu pages unread)",
				  (int)w->pid, lost);
	return lm_err_errno(err, LM_EIO, e, "%lu pages of process %d could not be read", lost,
			    (int)w->pid);
}

uint64_t lm_window_loads(const struct lm_window *w)
{
	return atomic_load(&w->loads);
}

void lm_window_close(struct lm_window *w)
{
	size_t i;

	if (!w)
		return;
	if (w->th_started) {
		char c = 1;
		if (write(w->stop[1], &c, 1) != 1)
			pthread_cancel(w->th);
		pthread_join(w->th, NULL);
	}
	if (w->uffd >= 0)
		close(w->uffd);
	for (i = 0; i < w->nsh; i++)
		munmap(w->sh[i].mem, (size_t)(w->sh[i].end - w->sh[i].start));
	if (w->pm_fd >= 0)
		close(w->pm_fd);
	if (w->mem_fd >= 0)
		close(w->mem_fd);
	if (w->stop[0] >= 0)
		close(w->stop[0]);
	if (w->stop[1] >= 0)
		close(w->stop[1]);
	if (w->staging)
		munmap(w->staging, LM_WINDOW_BLOCK);
	free(w->sh);
	free(w->ring);
	free(w->pm);
	free(w);
}

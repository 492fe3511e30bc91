/* SPDX-License-Identifier: MIT */
/*
 * heapmix.c - a test target whose heap holds every kind of chunk the walker
 * must tell apart, in numbers it prints.
 *
 * Sizes are chosen so that no libc internal allocates them (usable sizes
 * 104, 312, 1496, 3000, 5000, 184, and 300 KiB mmapped blocks); blocks are
 * filled with 0xa5 so the classifier calls them "size" types. Each run of
 * blocks frees only odd indices and has an odd length, so no two free
 * chunks touch (nothing coalesces) and no freed chunk touches top:
 *
 *   A 1001 x malloc(104) (chunk 112): 500 freed last -> 7 tcache, 493 fastbin
 *   B  601 x malloc(312) (chunk 320): 300 freed -> 7 tcache, 293 small bin
 *   C  201 x malloc(3000) (chunk 3008): 100 freed -> large bin
 *   D    1 x malloc(5000): sorts the unsorted bin into small/large bins
 *   F   41 x malloc(1496) (chunk 1504): 20 freed after D -> unsorted bin
 *   M    3 x malloc(300 KiB): mmapped
 *   T  a second thread (second arena): 101 x malloc(184) (chunk 192), 50
 *      freed -> 7 in its tcache, 43 in its arena's unsorted bin; then it
 *      sleeps forever
 *   Y   40 x malloc(88): typed objects whose first word points to the named
 *      global heapmix_record_type ("symbol heapmix_record_type")
 *   S   30 x malloc(200) holding 199 characters of text and the NUL: each
 *      fills its chunk ("string"); and one mmapped string, the longest its
 *      mapping can hold for this glibc (2.43 leaves the mapping's last 16
 *      bytes out of the chunk's size, so the bound moves)
 *
 * The numbers above are glibc 2.36's; the target measures what its own
 * glibc does instead of assuming it: how many chunks of a run went to the
 * tcache (the run's free chunks that mallinfo2() does not see as fastbin or
 * bin chunks: tcache chunks look in use to it; 16 per bin since 2.43), and
 * whether the rest went to fastbins (none since 2.43). Small chunks freed
 * outside a fastbin go to their small bin directly since 2.41 (to the
 * unsorted bin before), and an mmapped chunk's size is read from its own
 * header (2.43 leaves a 16-byte tail out of it).
 *
 * Then it prints `expect size NAME COUNT BYTES` for the live blocks (names
 * as lib/classify.h: "size 104", "size 1025-2048"), `info` lines with its
 * own mallinfo2() and the counts it knows are in tcaches and fastbins, and
 * "ready". Output uses write(2) on a stack buffer, never stdio (whose
 * buffer would be one more heap chunk after mallinfo2 was taken).
 *
 * With "split" as argument it splits its [heap] mapping in three (a flag
 * change on two pages in the middle; `info split 0x...`), as madvise or
 * glibc's glibc.malloc.hugetlb tunable do in real programs.
 * With "corrupt" as argument it also overwrites the size field of one A
 * chunk with garbage (after everything else) and prints its address as
 * `info corrupt_chunk 0x...`; it must not call malloc or free afterwards.
 */
#include <gnu/libc-version.h>
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NA 1001
#define NB 601
#define NC 201
#define NF 41
#define NT 101

#define NY 40
#define NS 30

/* What the typed objects point to: a named global the classifier finds in
 * the executable's symbol table. */
struct record_type { const char *name; };
extern const struct record_type heapmix_record_type;
const struct record_type heapmix_record_type = { "heapmix_record" };

static void *a[NA], *b[NB], *c[NC], *f[NF], *d, *m[3], *t[NT], *y[NY];
static char *str[NS], *mm_str;
static sem_t thread_done;
static long t_tcache, t_bins;

/* mallinfo2() appeared in glibc 2.33; older ones (the matrix builds this
 * target against them) have only mallinfo(), whose int fields suffice here. */
#if __GLIBC_PREREQ(2, 33)
typedef struct mallinfo2 minfo;
#define minfo_get mallinfo2
#else
typedef struct mallinfo minfo;
#define minfo_get mallinfo
#endif	/* the second thread's run: to its tcache, to bins */

/* Free the odd elements of v[n]: how many mallinfo2() then sees as new
 * fastbin chunks (*fast) and bin chunks (*bins); the rest went to the
 * thread's tcache (returned). No two freed chunks touch, so each free adds
 * exactly one chunk somewhere. */
static long free_odd(void **v, int n, long *fast, long *bins)
{
	minfo before = minfo_get(), after;
	int i;

	for (i = 1; i < n; i += 2)
		free(v[i]);
	after = minfo_get();
	*fast = (long)(after.smblks - before.smblks);
	*bins = (long)(after.ordblks - before.ordblks);
	return n / 2 - *fast - *bins;
}

/* Word -i before user pointer p: 1 is the chunk's size field, 2 its
 * prev_size (an mmapped chunk's offset into its mapping). Out of line, and
 * through an integer: the compiler must not reason about malloc's bounds. */
static __attribute__((noinline)) size_t header_word(const void *p, int i)
{
	return *(const size_t *)((uintptr_t)p - (uintptr_t)i * sizeof(size_t));
}

/* An mmapped chunk holding the longest string malloc(len + 1) could have
 * put in a mapping of its size: len = size - 25, or when the size leaves the
 * mapping's 16-byte tail out (glibc 2.43+) size - 9. Its chunk size. */
static size_t mmapped_string(void)
{
	char *p = malloc(150 * 4096 - 24);	/* a size class of its own */
	size_t size, len;

	if (!p)
		_exit(4);
	size = header_word(p, 1) & ~(size_t)7;
	len = (size + header_word(p, 2)) % 4096 ? size - 9 : size - 25;
	memset(p, 'm', len);
	p[len] = '\0';
	mm_str = p;
	return size;
}

/* glibc's version as 2036 for 2.36. */
static int glibc_version(void)
{
	const char *v = gnu_get_libc_version();
	int major = atoi(v), minor = 0;

	if (strchr(v, '.'))
		minor = atoi(strchr(v, '.') + 1);
	return major * 1000 + minor;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0 && write(1, buf, (size_t)n) < 0)
		_exit(3);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);
	if (!p)
		_exit(4);
	memset(p, 0xa5, n);
	return p;
}

/* chunk size of malloc(n) on x86_64 */
static size_t chunk_of(size_t n)
{
	size_t sz = (n + 8 + 15) & ~(size_t)15;
	return sz < 32 ? 32 : sz;
}

static void *second_arena(void *arg)
{
	int i;

	long fast;

	(void)arg;
	for (i = 0; i < NT; i++)
		t[i] = xmalloc(184);
	t_tcache = free_odd(t, NT, &fast, &t_bins);
	sem_post(&thread_done);
	for (;;)
		pause();
	return NULL;
}

static void expect(const char *name, long count, size_t chunk)
{
	say("expect size %s %ld %zu\n", name, count, (size_t)count * chunk);
}

int main(int argc, char **argv)
{
	int corrupt = argc > 1 && strcmp(argv[1], "corrupt") == 0;
	size_t mm_chunk, mm_string_chunk;
	minfo mi;
	pthread_t th;
	long a_tc, a_fast, a_bins, b_tc, b_fast, b_bins, c_fast, c_bins, f_fast, f_bins;
	int small_to_smallbin = glibc_version() >= 2041;
	int i;

	sem_init(&thread_done, 0, 0);
	if (pthread_create(&th, NULL, second_arena, NULL))
		return 5;
	sem_wait(&thread_done);

	for (i = 0; i < NY; i++) {
		y[i] = xmalloc(88);
		*(const struct record_type **)y[i] = &heapmix_record_type;
	}
	for (i = 0; i < NS; i++) {
		str[i] = xmalloc(200);
		memset(str[i], 'a' + i % 26, 199);
		str[i][199] = '\0';
	}
	for (i = 0; i < 3; i++)
		m[i] = xmalloc(300 * 1024);
	mm_chunk = header_word(m[0], 1) & ~(size_t)7;	/* its own chunk header */
	mm_string_chunk = mmapped_string();
	for (i = 0; i < NA; i++)
		a[i] = xmalloc(104);
	for (i = 0; i < NB; i++)
		b[i] = xmalloc(312);
	for (i = 0; i < NC; i++)
		c[i] = xmalloc(3000);
	for (i = 0; i < NF; i++)
		f[i] = xmalloc(1496);

	free_odd(c, NC, &c_fast, &c_bins);	/* unsorted, for now */
	b_tc = free_odd(b, NB, &b_fast, &b_bins);	/* 7 to tcache, the rest unsorted */
	d = xmalloc(5000);		/* sorts unsorted into small and large bins */
	free_odd(f, NF, &f_fast, &f_bins);	/* stay unsorted */
	a_tc = free_odd(a, NA, &a_fast, &a_bins);	/* 7 to tcache, 493 fastbin */

	mi = minfo_get();

	expect("size 104", NA - NA / 2, chunk_of(104));
	expect("size 312", NB - NB / 2, chunk_of(312));
	expect("size 2049-4096", NC - NC / 2, chunk_of(3000));
	expect("size 4097-8192", 1, chunk_of(5000));
	expect("size 1025-2048", NF - NF / 2, chunk_of(1496));
	expect("size 184", NT - NT / 2, chunk_of(184));
	expect("size 262145-524288", 3, mm_chunk);
	say("expect symbol heapmix_record_type %d %zu\n", NY, (size_t)NY * chunk_of(88));
	say("expect string string %d %zu\n", NS + 1, (size_t)NS * chunk_of(200) + mm_string_chunk);
	say("info arena %zu\n", (size_t)mi.arena);
	say("info ordblks %zu\n", (size_t)mi.ordblks);
	say("info smblks %zu\n", (size_t)mi.smblks);
	say("info hblks %zu\n", (size_t)mi.hblks);
	say("info hblkhd %zu\n", (size_t)mi.hblkhd);
	say("info uordblks %zu\n", (size_t)mi.uordblks);
	say("info fordblks %zu\n", (size_t)mi.fordblks);
	say("info fsmblks %zu\n", (size_t)mi.fsmblks);
	say("info keepcost %zu\n", (size_t)mi.keepcost);
	say("info tcache_chunks %ld\n", a_tc + b_tc + t_tcache);
	say("info fast_chunks %ld\n", a_fast);
	say("info unsorted_chunks %ld\n", f_bins + (small_to_smallbin ? 0 : t_bins));
	say("info small_chunks %ld\n", b_bins + a_bins + (small_to_smallbin ? t_bins : 0));
	say("info large_chunks %ld\n", c_bins);
	say("info glibc %s\n", gnu_get_libc_version());
	if (argc > 1 && strcmp(argv[1], "split") == 0) {
		/* Split the [heap] mapping in three without touching a byte:
		 * a flag change on two pages in its middle (glibc's own
		 * glibc.malloc.hugetlb tunable splits it the same way). */
		uintptr_t mid = ((uintptr_t)c[NC / 2] + 4095) & ~(uintptr_t)4095;
		if (madvise((void *)mid, 2 * 4096, MADV_NOHUGEPAGE) != 0)
			return 6;
		say("info split %p\n", (void *)mid);
	}
	if (corrupt) {
		uint64_t *hdr = (uint64_t *)a[500] - 1;	/* a live chunk's size field */
		*hdr = 0x4141414141414141ULL;
		say("info corrupt_chunk %p\n", (void *)((char *)a[500] - 16));
	}
	say("ready\n");
	for (;;)
		pause();
}

/* SPDX-License-Identifier: MIT */
/*
 * census_target.cpp - a test target that allocates known numbers of every
 * kind of type the classifier knows (lib/classify.h), prints what it made,
 * then waits until killed.
 *
 * Output:
 *   obj ADDR KIND NAME      one line per object: its user address and the
 *                           type the classifier must give it (negative
 *                           cases included: text that is not a string)
 *   expect KIND NAME COUNT BYTES
 *                           totals per class, symbol and string type
 *                           (bytes = sum of chunk sizes = request2size)
 *   info KEY VALUE          global_addr/global_name: a global array of the
 *                           executable; libc_obj_addr/libc_obj_name: inside
 *                           libc's stdout FILE; func_addr/func_name: inside
 *                           a function of the executable
 *   ready
 *
 * The expect lines must be exact for a census of the whole heap, so the
 * runtime's own allocations must not fall into these types. What the runtime
 * allocates here: libstdc++'s emergency exception pool (one ~73 KB chunk,
 * a "size" type), the second thread's TLS vector (calloc, starts with a small
 * count followed by zero: a "size" type) and the threads' tcaches. stdout
 * gets a static buffer: glibc's own (malloc(4096)) would be a "string" once
 * full of text, since a 4096-byte text plus the zero word after it is
 * exactly what malloc(4097) returns. We never call setlocale or use
 * iostreams (which would allocate locale data) and never free anything, so
 * every chunk we allocate is carved from the top chunk and has exactly
 * request2size(request) bytes.
 *
 * Arguments: [SCALE] multiplies every count (default 1).
 */
#include <malloc.h>
#include <pthread.h>
#include <stdexcept>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------- polymorphic classes ---------- */

class Order {
public:
	Order(long i) : id(i), cents(i * 100) {}
	virtual ~Order();
	virtual long total() const;
	long id, cents;
};
Order::~Order() {}
long Order::total() const { return cents; }

namespace shop {
template <typename T> class Cart {
public:
	Cart() : count(0) { memset(items, 0, sizeof(items)); }
	virtual ~Cart() {}
	virtual T sum() const { T s = 0; for (int i = 0; i < count; i++) s += items[i]; return s; }
	T items[7];
	int count;
};
template class Cart<int>;
}

namespace gfx {
struct Drawable {
	virtual ~Drawable();
	virtual void draw();
	long z = 1;
};
Drawable::~Drawable() {}
void Drawable::draw() {}
}

struct Serializable {
	virtual ~Serializable();
	virtual long save();
	long version = 2;
};
Serializable::~Serializable() {}
long Serializable::save() { return version; }

/* Multiply inherited: the object's first vptr points into Widget's vtable group. */
class Widget : public gfx::Drawable, public Serializable {
public:
	~Widget() override;
	void draw() override;
	long save() override;
	long width = 3, height = 4;
};
Widget::~Widget() {}
void Widget::draw() {}
long Widget::save() { return width * height; }

namespace acme {
namespace billing {
class Invoice {
public:
	virtual ~Invoice();
	virtual long due() const;
	long amount[9] = {0};
};
Invoice::~Invoice() {}
long Invoice::due() const { return amount[0]; }
}
}

/* ---------- "symbol" objects ---------- */

/* CPython style: {refcnt, type}, type a named static object. */
struct TypeObject {
	const char *tp_name;
	long tp_basicsize;
};
namespace py {
/* const at namespace scope: internal linkage, a local symbol in .symtab */
const TypeObject DictType = { "dict", 48 };
const TypeObject ListType = { "list", 40 };
}
struct PyObj {
	long refcnt;
	const TypeObject *type;
	long payload[4];
};

/* The type pointer at offset 0; the meta object is an exported C symbol. */
struct NodeMeta {
	const char *name;
	long flags;
	long reserved[2];
};
extern "C" {
extern const NodeMeta census_node_meta;
const NodeMeta census_node_meta = { "node", 7, { 0, 0 } };
}
struct Node {
	const NodeMeta *meta;
	long value;
	long more[3];
};

/* ---------- false vtables (negative cases) ---------- */

/* Shaped like a vtable group {offset-to-top, RTTI, first entry}, whose
 * "type_info" has libstdc++'s __class_type_info vtable + 16 as its first
 * word but a name that is no mangled type, or one in writable memory, or a
 * valid mangled name in read-only data but another first word: a chunk
 * pointing at the "entry" must not be named a class (from RTTI, in a
 * stripped build), nor by symbol (an interior pointer). */
extern "C++" {
namespace __cxxabiv1 {
extern void *const fake_family_vtable[] __asm__("_ZTVN10__cxxabiv117__class_type_infoE");
}
}
static char fake_writable_name[] = "5Order";
static const void *const fake_ti_unmangled[2] = { &__cxxabiv1::fake_family_vtable[2],
						  "not a mangled name" };
static const void *const fake_ti_writable[2] = { &__cxxabiv1::fake_family_vtable[2],
						 fake_writable_name };
static const long fake_not_a_vtable[4] = { 1, 2, 3, 4 };
static const void *const fake_ti_wrong_vptr[2] = { &fake_not_a_vtable[2], "5Order" };
static void fake_entry(void) {}
static const void *const fake_vtable_unmangled[3] = { 0, fake_ti_unmangled, (void *)fake_entry };
static const void *const fake_vtable_writable[3] = { 0, fake_ti_writable, (void *)fake_entry };
static const void *const fake_vtable_wrong_vptr[3] = { 0, fake_ti_wrong_vptr, (void *)fake_entry };

/* ---------- globals that tests look up ---------- */

extern "C" {
long census_global_table[64];
__attribute__((noinline)) long census_marker_function(long x)
{
	return x * 3 + census_global_table[x & 63];
}
}

/* ---------- bookkeeping ---------- */

struct tally {
	const char *kind, *name;
	long count;
	unsigned long bytes;
};
static struct tally tallies[32];
static int ntallies;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static void *keep[1 << 20];	/* everything stays reachable */
static long nkeep;

static size_t request2size(size_t req)
{
	size_t s = (req + 8 + 15) & ~(size_t)15;
	return s < 32 ? 32 : s;
}

/* The chunk size malloc gave p; checks that it is what we expect. */
static size_t chunk_of(void *p, size_t req)
{
	size_t usable = malloc_usable_size(p);
	/* IS_MMAPPED in our own chunk header, not the request size: glibc's
	 * tunables (glibc.malloc.hugetlb, mmap_threshold) move the threshold.
	 * An mmapped chunk has two words of overhead, a heap chunk one. */
	int mmapped = (((const size_t *)p)[-1] & 2) != 0;
	size_t size = mmapped ? usable + 16 : usable + 8;
	if (req < 128 * 1024 && size != request2size(req)) {
		fprintf(stderr, "census_target: malloc(%zu) gave chunk %zu, not %zu\n", req,
			size, request2size(req));
		abort();
	}
	return size;
}

/* Record one object; obj lines are printed at the end (main thread). */
static char obj_lines[1 << 22];
static size_t obj_len;
static int obj_overflow;	/* obj lines were cut: tests must use a smaller scale */

static void record(void *p, size_t req, const char *kind, const char *name, int tallied)
{
	size_t bytes = chunk_of(p, req);
	int i;

	pthread_mutex_lock(&out_lock);
	/* big scales (benchmarks) only keep what fits: nothing is ever freed */
	if (nkeep < (long)(sizeof(keep) / sizeof(keep[0])))
		keep[nkeep++] = p;
	if (sizeof(obj_lines) - obj_len > 256)
		obj_len += snprintf(obj_lines + obj_len, sizeof(obj_lines) - obj_len,
				    "obj %p %s %s\n", p, kind, name);
	else
		obj_overflow = 1;
	if (tallied) {
		for (i = 0; i < ntallies; i++)
			if (!strcmp(tallies[i].kind, kind) && !strcmp(tallies[i].name, name))
				break;
		if (i == ntallies) {
			tallies[i].kind = kind;
			tallies[i].name = name;
			ntallies++;
		}
		tallies[i].count++;
		tallies[i].bytes += bytes;
	}
	pthread_mutex_unlock(&out_lock);
}

static char *make_text(size_t len, int seed)
{
	static const char pat[] = "The quick brown fox, 0123456789; jumps\tover the lazy dog\n";
	char *buf = (char *)malloc(len + 1);
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = pat[(i + seed) % (sizeof(pat) - 1)];
	buf[0] = (char)('A' + seed % 26);	/* a string needs a letter or digit */
	buf[len] = 0;
	return buf;
}

/* strdup of texts of known lengths; the scratch buffer is kept too (it is a
 * string of the same length: counted). */
static void make_strings(long scale, int seed)
{
	static const size_t lens[] = { 1, 7, 23, 24, 39, 40, 100, 255, 1000, 3000 };
	for (long r = 0; r < 5 * scale; r++) {
		for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
			char *t = make_text(lens[k], (int)(r + k + seed));
			record(t, lens[k] + 1, "string", "string", 1);
			char *d = strdup(t);
			record(d, lens[k] + 1, "string", "string", 1);
		}
	}
}

static void *second_thread(void *arg)
{
	long scale = *(long *)arg;
	/* objects in the second arena */
	for (long i = 0; i < 25 * scale; i++)
		record(new acme::billing::Invoice(), sizeof(acme::billing::Invoice), "class",
		       "acme::billing::Invoice", 1);
	make_strings(scale, 3);
	return NULL;
}

int main(int argc, char **argv)
{
	long scale = argc > 1 ? atol(argv[1]) : 1;
	pthread_t th;
	void *rv;
	int i;

	static char stdout_buf[1 << 16];
	setvbuf(stdout, stdout_buf, _IOFBF, sizeof(stdout_buf));	/* see the top comment */
	if (scale < 1 || scale > 10000)
		scale = 1;
	for (long k = 0; k < 300 * scale; k++)
		record(new Order(k), sizeof(Order), "class", "Order", 1);
	for (long k = 0; k < 120 * scale; k++)
		record(new shop::Cart<int>(), sizeof(shop::Cart<int>), "class", "shop::Cart<int>", 1);
	for (long k = 0; k < 80 * scale; k++) {
		Widget *w = new Widget();
		record(w, sizeof(Widget), "class", "Widget", 1);
	}
	for (long k = 0; k < 25 * scale; k++)
		record(new acme::billing::Invoice(), sizeof(acme::billing::Invoice), "class",
		       "acme::billing::Invoice", 1);
	/* a class whose vtable lives in libstdc++ */
	for (long k = 0; k < 10 * scale; k++)
		record(new std::runtime_error("census"), sizeof(std::runtime_error), "class",
		       "std::runtime_error", 1);

	for (long k = 0; k < 200 * scale; k++) {
		PyObj *o = (PyObj *)calloc(1, sizeof(PyObj));
		o->refcnt = 1 + k % 5;
		o->type = &py::DictType;
		record(o, sizeof(PyObj), "symbol", "py::DictType", 1);
	}
	for (long k = 0; k < 100 * scale; k++) {
		PyObj *o = (PyObj *)calloc(1, sizeof(PyObj));
		o->refcnt = 1000;
		o->type = &py::ListType;
		record(o, sizeof(PyObj), "symbol", "py::ListType", 1);
	}
	for (long k = 0; k < 150 * scale; k++) {
		Node *n = (Node *)calloc(1, sizeof(Node));
		n->meta = &census_node_meta;
		n->value = k;
		record(n, sizeof(Node), "symbol", "census_node_meta", 1);
	}

	make_strings(scale, 0);
	/* one string big enough to be mmapped */
	{
		char *big = make_text(200000, 1);
		record(big, 200001, "string", "string", 1);
	}
	/* negative cases: text that is not what malloc(strlen + 1) returns */
	for (long k = 0; k < 10 * scale; k++) {
		char *p = (char *)calloc(1, 100);	/* chunk 112: a 3-char text is too short */
		memcpy(p, "abc", 4);
		record(p, 100, "size", "size 104", 0);
		char *q = (char *)calloc(1, 40);	/* non-text bytes */
		memset(q, 0x01, 39);
		record(q, 40, "size", "size 40", 0);
		/* a pointer into the middle of a global is no type pointer */
		long **r = (long **)calloc(1, 72);
		r[0] = &census_global_table[5];
		record(r, 72, "size", "size 72", 0);
		/* pointers to false vtables' entries are no vptrs (40 bytes: in a
		 * fixed-address build a pointer's 3 bytes would make a 24-byte
		 * block a string) */
		const void **f = (const void **)calloc(1, 40);
		f[0] = &fake_vtable_unmangled[2];
		record(f, 40, "size", "size 40", 0);
		f = (const void **)calloc(1, 40);
		f[0] = &fake_vtable_writable[2];
		record(f, 40, "size", "size 40", 0);
		f = (const void **)calloc(1, 40);
		f[0] = &fake_vtable_wrong_vptr[2];
		record(f, 40, "size", "size 40", 0);
	}

	if (pthread_create(&th, NULL, second_thread, &scale) != 0 || pthread_join(th, &rv) != 0) {
		fprintf(stderr, "census_target: cannot run the second thread\n");
		return 1;
	}

	fwrite(obj_lines, 1, obj_len, stdout);
	for (i = 0; i < ntallies; i++)
		printf("expect %s %s %ld %lu\n", tallies[i].kind, tallies[i].name, tallies[i].count,
		       tallies[i].bytes);
	printf("info global_addr %p\n", (void *)census_global_table);
	printf("info global_name census_global_table\n");
	/* &stdout is the executable's copy (a copy relocation); the FILE it
	 * points to is libc's own object */
	printf("info libc_obj_addr %p\n", (void *)((char *)stdout + 8));
	printf("info libc_obj_name _IO_2_1_stdout_\n");
	printf("info func_addr %p\n", (void *)((char *)&census_marker_function + 3));
	printf("info func_name census_marker_function\n");
	printf("info objects %ld\n", nkeep);
	printf("info obj_lines %s\n", obj_overflow ? "cut" : "complete");
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}

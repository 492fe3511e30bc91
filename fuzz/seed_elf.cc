#include <cstdio>
struct Base { virtual ~Base() {} virtual int f() { return 1; } };
namespace shop { template <class T> struct Cart : Base { T v; int f() override { return (int)v; } }; }
int g_table[4] = { 1, 2, 3, 4 };
static int local_counter;
Base *make(int i) { local_counter++; if (i) return new shop::Cart<int>(); return new Base(); }
int main(int argc, char **argv) { Base *b = make(argc); std::printf("%d\n", b->f() + g_table[0]); delete b; return 0; }

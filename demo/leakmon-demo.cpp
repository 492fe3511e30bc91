/* SPDX-License-Identifier: MIT */
/*
 * leakmon-demo.cpp - a small service with a leak, for `leakmond --demo`.
 *
 * It "serves requests" forever. Each request builds some scratch data that
 * is freed again (the steady part of the heap), and logs the user in: a
 * Session object goes into a session cache that nothing ever prunes. That
 * cache is the leak: a few hundred Session objects per second, each with
 * two heap strings, growing without bound - the shape of most real leaks
 * (a cache or registry that only ever grows), not a lost pointer.
 *
 * Session has a virtual destructor, so leakmon names it by its vtable
 * ("class Session"); its strings show up as "string".
 *
 *   leakmon-demo [--rate N] [--max N]
 *     --rate N   sessions added per second (default 300)
 *     --max N    stop growing after N sessions (default 2000000, ~500 MB)
 * Stops on SIGTERM or SIGINT.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <string>
#include <unordered_map>
#include <vector>

/* Outside the anonymous namespace so that leakmon shows "class Session". */
class Session {
public:
	Session(unsigned long id, std::string user, std::string token)
		: id_(id), user_(std::move(user)), token_(std::move(token)), last_seen_(time(nullptr)) {}
	virtual ~Session() = default;
	virtual bool expired(time_t now) const { return now - last_seen_ > 3600; }
	unsigned long id() const { return id_; }

private:
	unsigned long id_;
	std::string user_;
	std::string token_;
	time_t last_seen_;
};

namespace {

volatile sig_atomic_t stop_requested;

void on_signal(int) { stop_requested = 1; }

/* The cache that is never pruned. */
std::unordered_map<unsigned long, Session *> session_cache;

std::string make_token(unsigned long id)
{
	char buf[80];
	snprintf(buf, sizeof(buf), "tok-%016lx-%08lx-%s", id * 2654435761UL, id ^ 0x5bd1e995UL,
		 "demo-session-token");
	return buf;
}

/* A request: scratch buffers and strings that are all freed at the end. */
void handle_request(unsigned long n)
{
	std::vector<std::string> headers;
	for (int i = 0; i < 8; i++)
		headers.push_back("X-Request-Header-" + std::to_string(i) + ": value " + std::to_string(n));
	std::vector<char> body(512 + (n % 7) * 128, 'x');
	(void)body;
}

void login(unsigned long id)
{
	std::string user = "user" + std::to_string(id % 100000) + "@demo.example.com";
	session_cache[id] = new Session(id, user, make_token(id));
}

} // namespace

int main(int argc, char **argv)
{
	unsigned long rate = 300, max = 2000000, id = 0, requests = 0;
	const int ticks_per_s = 10;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--rate") == 0)
			rate = strtoul(argv[i + 1], nullptr, 10);
		else if (strcmp(argv[i], "--max") == 0)
			max = strtoul(argv[i + 1], nullptr, 10);
		else {
			fprintf(stderr, "usage: leakmon-demo [--rate N] [--max N]\n");
			return 2;
		}
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("leakmon-demo: pid %d, %lu sessions per second into a cache that is never pruned\n",
	       (int)getpid(), rate);
	fflush(stdout);

	while (!stop_requested) {
		for (unsigned long i = 0; i < rate / ticks_per_s; i++) {
			handle_request(requests++);
			if (session_cache.size() < max)
				login(id++);
		}
		struct timespec ts = { 0, 1000000000L / ticks_per_s };
		nanosleep(&ts, nullptr);
	}
	/* A clean exit frees the cache, as the real service would on shutdown. */
	for (auto &kv : session_cache)
		delete kv.second;
	return 0;
}

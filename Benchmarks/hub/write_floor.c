/*
 * The kernel's floor for a hub delivery on this machine: the least server CPU one delivered
 * WebSocket frame can cost when it is one write() on a loopback TCP socket (what any server that
 * writes each delivery separately pays, before doing any work of its own).
 *
 *   write_floor <connections> <frame bytes> <frames per write> <seconds> [<rounds per second>]
 *
 * Opens <connections> TCP connections on 127.0.0.1 (TCP_NODELAY, like the hub's sockets); a
 * forked reader drains them with epoll. The writer loops over the connections writing the same
 * prepared bytes (<frames per write> frames of <frame bytes> per write call, i.e. coalesced
 * deliveries) and reports its own CPU (getrusage: user + system; loopback charges most of the
 * receiver's TCP processing to the sender, as it does for the real servers) per frame written.
 * Back to back by default; with <rounds per second>, one round (a write to every connection) at
 * each tick of that rate and idle in between, like a broadcast per trigger (the reader then
 * sleeps between rounds, and waking it is part of each round's cost). Writes the socket refused
 * (EAGAIN) are counted apart, not as frames. Output: one JSON line. Bounded by <seconds>;
 * 127.0.0.1 only.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu_seconds(double *user, double *sys) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    *user = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6;
    *sys = usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
    return *user + *sys;
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

int main(int argc, char **argv) {
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: %s connections frame-bytes frames-per-write seconds [rounds-per-second]\n", argv[0]);
        return 2;
    }
    int count = atoi(argv[1]), frame = atoi(argv[2]), batch = atoi(argv[3]);
    double seconds = atof(argv[4]), rate = argc == 6 ? atof(argv[5]) : 0;
    if (count < 1 || count > 20000 || frame < 2 || frame > 65535 || batch < 1 || batch > 64 || seconds <= 0 ||
        rate < 0 || rate > 100000) {
        fprintf(stderr, "arguments out of range\n");
        return 2;
    }
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof address;
    if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof address) < 0 || listen(listener, 1024) < 0 ||
        getsockname(listener, (struct sockaddr *)&address, &length) < 0)
        die("listen");
    int *server = calloc(count, sizeof(int)), *client = calloc(count, sizeof(int));
    int one = 1;
    for (int i = 0; i < count; i++) {
        client[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (client[i] < 0 || connect(client[i], (struct sockaddr *)&address, sizeof address) < 0) die("connect");
        server[i] = accept(listener, NULL, NULL);
        if (server[i] < 0) die("accept");
        setsockopt(server[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    pid_t reader = fork();
    if (reader < 0) die("fork");
    if (reader == 0) {  // the clients: read everything until the writer closes
        for (int i = 0; i < count; i++) close(server[i]);
        int poller = epoll_create1(0);
        for (int i = 0; i < count; i++) {
            struct epoll_event event = {.events = EPOLLIN, .data.fd = client[i]};
            epoll_ctl(poller, EPOLL_CTL_ADD, client[i], &event);
        }
        static char sink[1 << 16];
        struct epoll_event events[256];
        int open = count;
        while (open > 0) {
            int ready = epoll_wait(poller, events, 256, 5000);
            if (ready <= 0) break;
            for (int i = 0; i < ready; i++) {
                ssize_t got = read(events[i].data.fd, sink, sizeof sink);
                if (got <= 0) {
                    epoll_ctl(poller, EPOLL_CTL_DEL, events[i].data.fd, NULL);
                    open--;
                }
            }
        }
        _exit(0);
    }
    for (int i = 0; i < count; i++) close(client[i]);
    size_t bytes = (size_t)frame * batch;
    char *data = malloc(bytes);
    for (int b = 0; b < batch; b++) {
        char *f = data + (size_t)b * frame;
        memset(f, 'x', frame);
        f[0] = (char)0x81;
        f[1] = 126;  // a text frame header, as the hub writes it
    }
    double user0, sys0, user1, sys1;
    double cpu0 = cpu_seconds(&user0, &sys0), start = now();
    long long writes = 0, refused = 0, rounds = 0;
    while (now() - start < seconds) {
        if (rate > 0) {  // the next tick of the schedule (absolute, so rounds do not drift)
            double tick = start + rounds / rate, wait = tick - now();
            if (wait > 0) {
                struct timespec pause = {.tv_sec = (time_t)wait, .tv_nsec = (long)((wait - (time_t)wait) * 1e9)};
                nanosleep(&pause, NULL);
            }
        }
        for (int i = 0; i < count; i++) {
            ssize_t wrote = write(server[i], data, bytes);
            if (wrote < 0 && errno != EAGAIN) die("write");
            if (wrote < 0) refused++; else writes++;
        }
        rounds++;
    }
    double cpu1 = cpu_seconds(&user1, &sys1), elapsed = now() - start;
    for (int i = 0; i < count; i++) close(server[i]);
    waitpid(reader, NULL, 0);
    double frames = (double)writes * batch, cpu = cpu1 - cpu0;
    printf("{\"connections\": %d, \"frame_bytes\": %d, \"frames_per_write\": %d, \"rounds_per_s\": %g, \"seconds\": %.3f, "
           "\"frames\": %.0f, \"refused_writes\": %lld, \"user_s\": %.3f, \"sys_s\": %.3f, \"us_per_frame\": %.3f, "
           "\"frames_per_cpu_s\": %.0f}\n",
           count, frame, batch, rate, elapsed, frames, refused, user1 - user0, sys1 - sys0, 1e6 * cpu / frames, frames / cpu);
    return 0;
}

/*
 * The floor for reaper's snapshot benchmark: a plain C loop that reads the same /proc files
 * as the Node scanner, with one reused buffer, and parses nothing it does not need.
 *
 *   procscan REPS FILES     FILES: letters s=stat S=status c=cmdline e=environ f=fd dir (+readlink)
 * Prints one line per repetition: "<milliseconds> <processes>".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char buf[1 << 16];
static volatile unsigned long sink;

static long read_file(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  long total = 0;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    total += n;
    if ((size_t)n < sizeof buf) break;
  }
  close(fd);
  if (total > 0) sink += (unsigned char)buf[0];
  return total;
}

static void read_fds(const char *pid) {
  char path[320], link[600], target[256];
  snprintf(path, sizeof path, "/proc/%s/fd", pid);
  DIR *d = opendir(path);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    snprintf(link, sizeof link, "%s/%s", path, e->d_name);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n > 0) sink += (unsigned char)target[0];
  }
  closedir(d);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 10;
  const char *files = argc > 2 ? argv[2] : "sS";
  char path[320];
  for (int r = 0; r < reps; r++) {
    double t0 = now_ms();
    int count = 0;
    DIR *proc = opendir("/proc");
    if (!proc) return 1;
    struct dirent *e;
    while ((e = readdir(proc)) != NULL) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      const char *pid = e->d_name;
      if (strchr(files, 's')) {
        snprintf(path, sizeof path, "/proc/%s/stat", pid);
        long n = read_file(path);
        if (n <= 0) continue;
        /* Same hot-path parse as the Node scanner: fields start after the last ')'. */
        char *close = memrchr(buf, ')', (size_t)n);
        if (close) sink += (unsigned char)close[2];
      }
      if (strchr(files, 'S')) { snprintf(path, sizeof path, "/proc/%s/status", pid); read_file(path); }
      if (strchr(files, 'c')) { snprintf(path, sizeof path, "/proc/%s/cmdline", pid); read_file(path); }
      if (strchr(files, 'e')) { snprintf(path, sizeof path, "/proc/%s/environ", pid); read_file(path); }
      if (strchr(files, 'f')) read_fds(pid);
      count++;
    }
    closedir(proc);
    printf("%.3f %d\n", now_ms() - t0, count);
  }
  return (int)(sink & 0);
}

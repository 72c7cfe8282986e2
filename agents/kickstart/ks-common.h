/*
 * Helpers shared by aloft-kickstart (kickstart.c, one job per process) and aloft-launcher
 * (launcher.c, a long-lived job starter): signal names, full writes, JSON string escaping
 * and a PATH search that never falls back to /bin/sh.
 */
#ifndef ALOFT_KS_COMMON_H
#define ALOFT_KS_COMMON_H
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static const char *signame(int sig) {
  static char buf[16];
  switch (sig) {
  case SIGHUP: return "SIGHUP";
  case SIGINT: return "SIGINT";
  case SIGQUIT: return "SIGQUIT";
  case SIGILL: return "SIGILL";
  case SIGTRAP: return "SIGTRAP";
  case SIGABRT: return "SIGABRT";
  case SIGBUS: return "SIGBUS";
  case SIGFPE: return "SIGFPE";
  case SIGKILL: return "SIGKILL";
  case SIGUSR1: return "SIGUSR1";
  case SIGSEGV: return "SIGSEGV";
  case SIGUSR2: return "SIGUSR2";
  case SIGPIPE: return "SIGPIPE";
  case SIGALRM: return "SIGALRM";
  case SIGTERM: return "SIGTERM";
  case SIGCHLD: return "SIGCHLD";
  case SIGCONT: return "SIGCONT";
  case SIGSTOP: return "SIGSTOP";
  case SIGTSTP: return "SIGTSTP";
  case SIGTTIN: return "SIGTTIN";
  case SIGTTOU: return "SIGTTOU";
  case SIGURG: return "SIGURG";
  case SIGXCPU: return "SIGXCPU";
  case SIGXFSZ: return "SIGXFSZ";
  case SIGVTALRM: return "SIGVTALRM";
  case SIGPROF: return "SIGPROF";
  case SIGWINCH: return "SIGWINCH";
  case SIGIO: return "SIGIO";
  case SIGSYS: return "SIGSYS";
  default:
    snprintf(buf, sizeof buf, "SIG%d", sig);
    return buf;
  }
}

/* Write all of buf, retrying on EINTR and partial writes. */
static int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Append s to out (size cap) as a JSON string literal. */
static void json_string(char *out, size_t cap, const char *s) {
  size_t o = strlen(out);
  if (o + 2 >= cap) return;
  out[o++] = '"';
  for (; *s && o + 8 < cap; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      out[o++] = '\\';
      out[o++] = (char)c;
    } else if (c < 0x20) {
      o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
    } else {
      out[o++] = (char)c;
    }
  }
  out[o++] = '"';
  out[o] = '\0';
}

static long long tv_us(struct timeval tv) {
  return (long long)tv.tv_sec * 1000000LL + (long long)tv.tv_usec;
}

/*
 * execvp without the /bin/sh fallback: try each entry of `path` (argv[0] without '/'),
 * keep the most telling error (EACCES over ENOENT, as execvp does), return it. Uses only
 * the stack (no malloc): the launcher calls it in a CLONE_VM child.
 */
static int exec_search(char **cmd, char **envp, const char *path) {
  const char *file = cmd[0];
  if (file[0] == '\0') return ENOENT;
  if (strchr(file, '/') != NULL) {
    execve(file, cmd, envp);
    return errno;
  }
  if (path == NULL || path[0] == '\0') path = "/usr/local/bin:/usr/bin:/bin";
  size_t flen = strlen(file);
  int best = ENOENT;
  for (const char *p = path;;) {
    const char *end = strchr(p, ':');
    size_t dlen = end ? (size_t)(end - p) : strlen(p);
    char full[4096];
    if (dlen + 1 + flen + 1 <= sizeof full) {
      if (dlen == 0) {
        memcpy(full, file, flen + 1); /* empty entry = current directory */
      } else {
        memcpy(full, p, dlen);
        full[dlen] = '/';
        memcpy(full + dlen + 1, file, flen + 1);
      }
      execve(full, cmd, envp);
      if (errno != ENOENT && errno != ENOTDIR) best = errno;
      if (errno != ENOENT && errno != ENOTDIR && errno != EACCES) return errno;
    }
    if (!end) break;
    p = end + 1;
  }
  return best;
}

#endif

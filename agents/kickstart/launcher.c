/*
 * aloft-launcher: the long-lived job starter behind the agent's process executor. One
 * launcher serves every attempt of one agent, so starting a job costs one clone + exec
 * here instead of a Node child_process.spawn (about a millisecond of the agent's main
 * thread) followed by a second exec through aloft-kickstart.
 *
 *   aloft-launcher        (started by the agent; talks over its stdin and stdout)
 *
 * Requests (stdin): frames of a 4-byte little-endian length, then that many bytes of
 * NUL-terminated fields:
 *   "run" ID FLAGS CWD STDIN STDOUT STDERR ARGC ARGV... ENVC ENV...
 *       STDIN "" = /dev/null; STDERR "" = the STDOUT file. STDOUT and STDERR are created
 *       or truncated (mode 0644). ENV entries are "NAME=value"; the job gets exactly them.
 *       FLAGS: 'o' = remove the STDOUT file after the job if it is empty, 'e' = the same
 *       for STDERR (the agent's own log files: an empty one says nothing, and a scratch
 *       directory left empty is removed with one rmdir).
 *   "signal" ID NAME      NAME one of TERM INT HUP KILL: sent to the job's process group
 *                         (a job that has already ended is ignored).
 * Replies (stdout): one JSON line per "run", once its job has ended or could not start:
 *   {"id":"ID","exit":N|null,"signal":"SIGxxx"|null,"utime_us":N,"stime_us":N,
 *    "maxrss_kb":N,"exec_error":"..."|null,"exec_errno":N|null,"setup_error":"..."|null,
 *    "setup_errno":N|null,"setup_what":"cwd"|"stdin"|"stdout"|"stderr"|"spawn"|null,
 *    "pid":N|null,"stdout_bytes":N,"stderr_bytes":N}
 *   exec failures are reported as aloft-kickstart reports them (exec_error, exit 127 when
 *   not found, 126 otherwise); setup failures happen before exec (no exit status).
 *
 * Guarantees per job — the same as aloft-kickstart's:
 *  - execve with a PATH search (the job's own PATH) that never hands a file to /bin/sh;
 *    its own process group; signal mask and dispositions reset; PR_SET_PDEATHSIG=SIGKILL
 *    towards the launcher.
 *  - When the job's main process has ended, whatever is left of its process group is
 *    killed with SIGKILL: a job does not outlive its attempt.
 *  - rusage from wait4.
 * And for the launcher itself:
 *  - It dies with the agent (PR_SET_PDEATHSIG=SIGTERM) and ends on EOF of its stdin; on
 *    either, and on SIGTERM/SIGINT/SIGHUP, it SIGKILLs every job's process group first.
 *    A crashed agent leaves no job behind.
 *  - A malformed request is a protocol error: a message on stderr, every job killed,
 *    exit 125.
 *
 * Jobs start in a CLONE_VM|CLONE_VFORK child on a stack of its own (what posix_spawn does),
 * so no page tables are copied however large the launcher is, and the child reports a
 * failed exec by writing into the shared memory before _exit. The launcher is single
 * threaded; signals arrive through a signalfd polled beside stdin.
 */
#define _GNU_SOURCE
#include "ks-common.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define L_FAIL 125
#define MAX_FRAME (64u << 20)
#define MAX_ID 64
#define MAX_LIST (1u << 20)

enum what { W_NONE, W_CWD, W_STDIN, W_STDOUT, W_STDERR, W_SPAWN, W_EXEC };
static const char *what_name[] = {"", "cwd", "stdin", "stdout", "stderr", "spawn", "exec"};

struct job {
  char id[MAX_ID + 1];
  pid_t pid;
  int out_fd;
  int err_fd; /* -1 when stderr goes to the stdout file */
  char *drop_out; /* remove this file after the job if empty (or NULL) */
  char *drop_err;
};

static struct job *jobs;
static size_t njobs, capjobs;

static void kill_all(void) {
  for (size_t i = 0; i < njobs; i++) {
    kill(-jobs[i].pid, SIGKILL);
    kill(jobs[i].pid, SIGKILL);
  }
}

static void die(const char *msg) {
  fprintf(stderr, "aloft-launcher: %s\n", msg);
  kill_all();
  exit(L_FAIL);
}

/* ---- replies ------------------------------------------------------------------------ */

static long long file_bytes(int fd) {
  struct stat st;
  return fd >= 0 && fstat(fd, &st) == 0 ? (long long)st.st_size : 0;
}

/* Remove `path` when it is set and the file had no bytes; frees it. */
static void drop_if_empty(char *path, long long bytes) {
  if (path != NULL && bytes == 0) unlink(path);
  free(path);
}

static char *dup_or_die(const char *s) {
  char *d = strdup(s);
  if (d == NULL) die("out of memory");
  return d;
}

struct reply {
  const char *id;
  int have_status;
  int status;
  struct rusage ru;
  int exec_errno;
  int setup_errno;
  enum what setup_what;
  pid_t pid;
  long long out_bytes, err_bytes;
};

static void send_reply(const struct reply *r) {
  char exit_s[16] = "null", sig_s[32] = "null", exec_errno_s[16] = "null";
  char setup_errno_s[16] = "null", pid_s[16] = "null";
  char id_s[2 * MAX_ID + 8] = "", exec_s[512] = "null", setup_s[512] = "null";
  char what_s[16] = "null";
  json_string(id_s, sizeof id_s, r->id);
  if (r->have_status) {
    if (WIFEXITED(r->status)) {
      snprintf(exit_s, sizeof exit_s, "%d", WEXITSTATUS(r->status));
    } else if (WIFSIGNALED(r->status)) {
      snprintf(sig_s, sizeof sig_s, "\"%s\"", signame(WTERMSIG(r->status)));
    }
  }
  if (r->exec_errno != 0) {
    exec_s[0] = '\0';
    json_string(exec_s, sizeof exec_s, strerror(r->exec_errno));
    snprintf(exec_errno_s, sizeof exec_errno_s, "%d", r->exec_errno);
  }
  if (r->setup_what != W_NONE) {
    setup_s[0] = '\0';
    json_string(setup_s, sizeof setup_s, strerror(r->setup_errno));
    snprintf(setup_errno_s, sizeof setup_errno_s, "%d", r->setup_errno);
    snprintf(what_s, sizeof what_s, "\"%s\"", what_name[r->setup_what]);
  }
  if (r->pid > 0) snprintf(pid_s, sizeof pid_s, "%d", (int)r->pid);
  char line[2048];
  int len = snprintf(
      line, sizeof line,
      "{\"id\":%s,\"exit\":%s,\"signal\":%s,\"utime_us\":%lld,\"stime_us\":%lld,"
      "\"maxrss_kb\":%ld,\"exec_error\":%s,\"exec_errno\":%s,\"setup_error\":%s,"
      "\"setup_errno\":%s,\"setup_what\":%s,\"pid\":%s,\"stdout_bytes\":%lld,"
      "\"stderr_bytes\":%lld}\n",
      id_s, exit_s, sig_s, tv_us(r->ru.ru_utime), tv_us(r->ru.ru_stime), r->ru.ru_maxrss,
      exec_s, exec_errno_s, setup_s, setup_errno_s, what_s, pid_s, r->out_bytes,
      r->err_bytes);
  if (len < 0 || (size_t)len >= sizeof line) die("reply too long");
  if (write_all(STDOUT_FILENO, line, (size_t)len) != 0) {
    /* The agent is gone (EPIPE): nobody is left to report to. */
    kill_all();
    exit(0);
  }
}

/* ---- starting a job ----------------------------------------------------------------- */

struct child_args {
  char **argv;
  char **envp;
  const char *path;
  const char *cwd;
  int in_fd, out_fd, err_fd;
  /* Written by the child before _exit (shared memory: CLONE_VM). */
  int err;
  enum what what;
};

/* 256 KiB is ample for exec_search's 4 KiB buffer; the launcher is suspended (CLONE_VFORK)
 * until the child has exec'd or exited, so one stack serves every start. */
static char child_stack[256 * 1024] __attribute__((aligned(16)));

static int child_main(void *p) {
  struct child_args *a = p;
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(SIGPIPE, &dfl, NULL); /* the launcher ignores it; the job must not */
  if (setpgid(0, 0) != 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
    a->err = errno;
    a->what = W_SPAWN;
    _exit(L_FAIL);
  }
  if (chdir(a->cwd) != 0) {
    a->err = errno;
    a->what = W_CWD;
    _exit(L_FAIL);
  }
  if (dup2(a->in_fd, 0) < 0 || dup2(a->out_fd, 1) < 0 || dup2(a->err_fd, 2) < 0) {
    a->err = errno;
    a->what = W_SPAWN;
    _exit(L_FAIL);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  int e = exec_search(a->argv, a->envp, a->path);
  a->err = e;
  a->what = W_EXEC;
  _exit(e == ENOENT || e == ENOTDIR ? 127 : 126);
}

/* The next NUL-terminated field of [*p, end), or NULL when the frame is short. */
static char *field(char **p, char *end) {
  char *s = *p;
  char *nul = s < end ? memchr(s, '\0', (size_t)(end - s)) : NULL;
  if (nul == NULL) return NULL;
  *p = nul + 1;
  return s;
}

static size_t count(char **p, char *end) {
  char *s = field(p, end);
  if (s == NULL || *s == '\0') die("protocol error: missing count");
  char *stop;
  unsigned long n = strtoul(s, &stop, 10);
  if (*stop != '\0' || n > MAX_LIST) die("protocol error: bad count");
  return (size_t)n;
}

static char **list(char **p, char *end, size_t n) {
  char **v = calloc(n + 1, sizeof *v);
  if (v == NULL) die("out of memory");
  for (size_t i = 0; i < n; i++) {
    v[i] = field(p, end);
    if (v[i] == NULL) die("protocol error: short list");
  }
  return v;
}

static int open_retry(const char *path, int flags, mode_t mode) {
  int fd;
  do fd = open(path, flags | O_CLOEXEC, mode);
  while (fd < 0 && errno == EINTR);
  return fd;
}

static void run_job(char *p, char *end) {
  const char *id = field(&p, end);
  const char *flags = field(&p, end);
  const char *cwd = field(&p, end);
  const char *in_path = field(&p, end);
  const char *out_path = field(&p, end);
  const char *err_path = field(&p, end);
  if (!id || !flags || !cwd || !in_path || !out_path || !err_path) {
    die("protocol error: short run");
  }
  for (const char *f = flags; *f; f++) {
    if (*f != 'o' && *f != 'e') die("protocol error: unknown flag");
  }
  int separate_err = err_path[0] && strcmp(err_path, out_path) != 0;
  /* A merged stream is one file: dropped only when both streams may be. */
  int drop_out = strchr(flags, 'o') != NULL && (separate_err || strchr(flags, 'e') != NULL);
  int drop_err = separate_err && strchr(flags, 'e') != NULL;
  if (id[0] == '\0' || strlen(id) > MAX_ID) die("protocol error: bad id");
  size_t argc = count(&p, end);
  if (argc == 0) die("protocol error: empty argv");
  char **argv = list(&p, end, argc);
  size_t envc = count(&p, end);
  char **envp = list(&p, end, envc);
  if (p != end) die("protocol error: trailing bytes in run");

  struct reply r;
  memset(&r, 0, sizeof r);
  r.id = id;
  int in_fd = -1, out_fd = -1, err_fd = -1;
  in_fd = open_retry(in_path[0] ? in_path : "/dev/null", O_RDONLY, 0);
  if (in_fd < 0) {
    r.setup_what = W_STDIN;
  } else if ((out_fd = open_retry(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) {
    r.setup_what = W_STDOUT;
  } else if (separate_err &&
             (err_fd = open_retry(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) {
    r.setup_what = W_STDERR;
  }
  if (r.setup_what != W_NONE) {
    r.setup_errno = errno;
  } else {
    const char *path = NULL;
    for (size_t i = 0; i < envc; i++) {
      if (strncmp(envp[i], "PATH=", 5) == 0) path = envp[i] + 5;
    }
    struct child_args a = {argv, envp, path, cwd, in_fd, out_fd, err_fd >= 0 ? err_fd : out_fd,
                           0, W_NONE};
    pid_t pid = clone(child_main, child_stack + sizeof child_stack,
                      CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
    if (pid < 0) {
      r.setup_what = W_SPAWN;
      r.setup_errno = errno;
    } else if (a.what != W_NONE) {
      /* It never became the job: reap it now (its SIGCHLD finds nothing later). */
      while (wait4(pid, &r.status, 0, &r.ru) < 0 && errno == EINTR) {
      }
      r.pid = pid;
      if (a.what == W_EXEC) {
        r.have_status = 1;
        r.exec_errno = a.err;
      } else {
        memset(&r.ru, 0, sizeof r.ru);
        r.setup_what = a.what;
        r.setup_errno = a.err;
      }
    } else {
      /* Running. Both sides set the group, so it exists before anyone may signal it. */
      setpgid(pid, pid);
      if (njobs == capjobs) {
        capjobs = capjobs ? capjobs * 2 : 16;
        jobs = realloc(jobs, capjobs * sizeof *jobs);
        if (jobs == NULL) die("out of memory");
      }
      struct job *j = &jobs[njobs++];
      strcpy(j->id, id);
      j->pid = pid;
      j->out_fd = out_fd;
      j->err_fd = err_fd;
      j->drop_out = drop_out ? dup_or_die(out_path) : NULL;
      j->drop_err = drop_err ? dup_or_die(err_path) : NULL;
      close(in_fd);
      free(argv);
      free(envp);
      return;
    }
  }
  r.out_bytes = file_bytes(out_fd);
  r.err_bytes = err_fd >= 0 ? file_bytes(err_fd) : 0;
  if (in_fd >= 0) close(in_fd);
  if (out_fd >= 0) {
    close(out_fd);
    if (drop_out && r.out_bytes == 0) unlink(out_path);
  }
  if (err_fd >= 0) {
    close(err_fd);
    if (drop_err && r.err_bytes == 0) unlink(err_path);
  }
  free(argv);
  free(envp);
  send_reply(&r);
}

static void signal_job(char *p, char *end) {
  const char *id = field(&p, end);
  const char *name = field(&p, end);
  if (!id || !name || p != end) die("protocol error: bad signal request");
  int sig = strcmp(name, "TERM") == 0   ? SIGTERM
            : strcmp(name, "INT") == 0  ? SIGINT
            : strcmp(name, "HUP") == 0  ? SIGHUP
            : strcmp(name, "KILL") == 0 ? SIGKILL
                                        : 0;
  if (sig == 0) die("protocol error: unknown signal");
  for (size_t i = 0; i < njobs; i++) {
    if (strcmp(jobs[i].id, id) == 0) {
      kill(-jobs[i].pid, sig);
      return;
    }
  }
}

static void handle_frame(char *p, size_t len) {
  char *end = p + len;
  char *op = field(&p, end);
  if (op == NULL) die("protocol error: no operation");
  if (strcmp(op, "run") == 0) {
    run_job(p, end);
  } else if (strcmp(op, "signal") == 0) {
    signal_job(p, end);
  } else {
    die("protocol error: unknown operation");
  }
}

/* ---- ended jobs --------------------------------------------------------------------- */

static void reap(void) {
  for (;;) {
    int status;
    struct rusage ru;
    pid_t pid = wait4(-1, &status, WNOHANG, &ru);
    if (pid < 0 && errno == EINTR) continue;
    if (pid <= 0) return;
    for (size_t i = 0; i < njobs; i++) {
      if (jobs[i].pid != pid) continue;
      struct job j = jobs[i];
      jobs[i] = jobs[--njobs];
      /* Leftovers of the job (background processes in its group) do not outlive it. */
      kill(-pid, SIGKILL);
      struct reply r;
      memset(&r, 0, sizeof r);
      r.id = j.id;
      r.have_status = 1;
      r.status = status;
      r.ru = ru;
      r.pid = pid;
      r.out_bytes = file_bytes(j.out_fd);
      r.err_bytes = j.err_fd >= 0 ? file_bytes(j.err_fd) : 0;
      close(j.out_fd);
      if (j.err_fd >= 0) close(j.err_fd);
      drop_if_empty(j.drop_out, r.out_bytes);
      drop_if_empty(j.drop_err, r.err_bytes);
      send_reply(&r);
      break;
    }
  }
}

int main(int argc, char **argv) {
  (void)argv;
  if (argc != 1) {
    fprintf(stderr, "usage: aloft-launcher (started by the aloft agent; speaks on stdin/stdout)\n");
    return L_FAIL;
  }
  /* Die with the agent; if it is already gone, do not start anything. */
  pid_t agent = getppid();
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != agent) return L_FAIL;

  signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0) return L_FAIL;
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) {
    perror("aloft-launcher: signalfd");
    return L_FAIL;
  }

  size_t cap = 64 * 1024, have = 0;
  char *buf = malloc(cap);
  if (buf == NULL) return L_FAIL;
  struct pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {sfd, POLLIN, 0}};
  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll failed");
    }
    if (fds[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      int child = 0;
      while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGCHLD) {
          child = 1;
        } else {
          kill_all();
          return 0;
        }
      }
      if (child) reap();
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (have == cap) {
        cap *= 2;
        buf = realloc(buf, cap);
        if (buf == NULL) die("out of memory");
      }
      ssize_t n = read(STDIN_FILENO, buf + have, cap - have);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        /* EOF: the agent closed us (or died). Its jobs end with it. */
        kill_all();
        return 0;
      }
      have += (size_t)n;
      size_t off = 0;
      while (have - off >= 4) {
        const unsigned char *h = (const unsigned char *)buf + off;
        uint32_t len = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
                       (uint32_t)h[3] << 24;
        if (len > MAX_FRAME) die("protocol error: frame too large");
        if (have - off - 4 < len) break; /* the rest arrives later; buf grows as needed */
        handle_frame(buf + off + 4, len);
        off += 4 + (size_t)len;
      }
      if (off > 0) {
        memmove(buf, buf + off, have - off);
        have -= off;
      }
    }
  }
}

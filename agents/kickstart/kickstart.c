/*
 * aloft-kickstart: run one job process and write what happened (like pegasus-kickstart).
 *
 *   aloft-kickstart <result-file> -- argv...
 *
 * The agent itself starts jobs through aloft-launcher (launcher.c), which keeps the same
 * per-job guarantees for many jobs from one process. kickstart is the one-shot form, for
 * wherever a job must be wrapped by a command line (a batch system's job script, a shell).
 *
 * Contract:
 *  - argv is executed with execv, searching PATH like execvp when argv[0] has no '/', but
 *    without execvp's fallback of handing ENOEXEC files to /bin/sh: no shell ever. stdin/stdout/stderr, cwd and the
 *    environment are inherited from kickstart unchanged.
 *  - The job runs in its own process group (setpgid) and dies when kickstart dies
 *    (PR_SET_PDEATHSIG); kickstart itself dies when its parent (the agent) dies. So a
 *    crashed agent never leaves orphan jobs behind.
 *  - SIGTERM, SIGINT and SIGHUP sent to kickstart are forwarded to the job's process group.
 *    SIGUSR1 sent to kickstart sends SIGKILL to the job's process group (the agent's
 *    "kill now" after the grace period; SIGKILL itself cannot be caught and forwarded).
 *  - When the job's main process has ended, whatever is left of its process group
 *    (background children) is killed with SIGKILL: a job does not outlive its attempt.
 *  - When the job has ended, one JSON line is written to <result-file>:
 *      {"exit":N|null,"signal":"SIGxxx"|null,"utime_us":N,"stime_us":N,"maxrss_kb":N,
 *       "exec_error":"..."|null,"exec_errno":N|null,"pid":N}
 *    exec failures (ENOENT, EACCES, ...) are reported in exec_error with exit 127 (not
 *    found) or 126 (found but not executable).
 *  - Exit status: the job's exit code; 128+signal when the job was killed by a signal;
 *    125 when kickstart itself could not do its job (bad usage, fork or result-file failure;
 *    a message goes to stderr).
 */
#define _GNU_SOURCE
#include "ks-common.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define KS_FAIL 125

extern char **environ;

static volatile sig_atomic_t job_pgid = 0;

static void forward(int sig) {
  int saved = errno;
  if (job_pgid > 0) kill(-(pid_t)job_pgid, sig == SIGUSR1 ? SIGKILL : sig);
  errno = saved;
}

int main(int argc, char **argv) {
  if (argc < 4 || strcmp(argv[2], "--") != 0 || argv[1][0] == '\0') {
    fprintf(stderr, "usage: aloft-kickstart <result-file> -- program [args...]\n");
    return KS_FAIL;
  }
  const char *result_path = argv[1];
  char **cmd = argv + 3;

  /* Die with the agent; if it is already gone, do not start anything. */
  pid_t agent = getppid();
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != agent) return KS_FAIL;

  /* Exec failures come back over a close-on-exec pipe: EOF means exec succeeded. */
  int errpipe[2];
  if (pipe2(errpipe, O_CLOEXEC) != 0) {
    perror("aloft-kickstart: pipe");
    return KS_FAIL;
  }

  /* Block the forwarded signals across fork so none is lost before job_pgid is known. */
  sigset_t fwd, old;
  sigemptyset(&fwd);
  sigaddset(&fwd, SIGTERM);
  sigaddset(&fwd, SIGINT);
  sigaddset(&fwd, SIGHUP);
  sigaddset(&fwd, SIGUSR1);
  sigprocmask(SIG_BLOCK, &fwd, &old);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = forward;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART: blocking calls see EINTR and loop */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);

  pid_t self = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    perror("aloft-kickstart: fork");
    return KS_FAIL;
  }
  if (pid == 0) {
    /* Job side: die with kickstart, own process group, default signal handling. */
    close(errpipe[0]);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != self) _exit(KS_FAIL);
    setpgid(0, 0);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGUSR1, SIG_DFL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    int e = exec_search(cmd, environ, getenv("PATH"));
    (void)write_all(errpipe[1], (const char *)&e, sizeof e);
    _exit(e == ENOENT || e == ENOTDIR ? 127 : 126);
  }

  /* Both sides set the group, so it exists before we may signal it. EACCES after the
   * child's exec is harmless: the child has already done it. */
  setpgid(pid, pid);
  job_pgid = pid;
  close(errpipe[1]);
  sigprocmask(SIG_SETMASK, &old, NULL);

  int exec_errno = 0;
  {
    char buf[sizeof(int)];
    size_t got = 0;
    for (;;) {
      ssize_t n = read(errpipe[0], buf + got, sizeof buf - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += (size_t)n;
      if (got == sizeof buf) {
        memcpy(&exec_errno, buf, sizeof exec_errno);
        break;
      }
    }
    close(errpipe[0]);
  }

  int status = 0;
  struct rusage ru;
  memset(&ru, 0, sizeof ru);
  for (;;) {
    pid_t w = wait4(pid, &status, 0, &ru);
    if (w == pid) break;
    if (w < 0 && errno == EINTR) continue;
    perror("aloft-kickstart: wait4");
    return KS_FAIL;
  }

  /* Leftovers of the job (background processes in its group) do not outlive it. */
  kill(-pid, SIGKILL);

  char exit_s[16] = "null", sig_s[32] = "null", errno_s[16] = "null";
  int code;
  if (WIFEXITED(status)) {
    code = WEXITSTATUS(status);
    snprintf(exit_s, sizeof exit_s, "%d", code);
  } else if (WIFSIGNALED(status)) {
    code = 128 + WTERMSIG(status);
    snprintf(sig_s, sizeof sig_s, "\"%s\"", signame(WTERMSIG(status)));
  } else {
    code = KS_FAIL;
  }

  char exec_s[512] = "null";
  if (exec_errno != 0) {
    exec_s[0] = '\0';
    json_string(exec_s, sizeof exec_s, strerror(exec_errno));
    snprintf(errno_s, sizeof errno_s, "%d", exec_errno);
  }

  char line[1024];
  int len = snprintf(line, sizeof line,
                     "{\"exit\":%s,\"signal\":%s,\"utime_us\":%lld,\"stime_us\":%lld,"
                     "\"maxrss_kb\":%ld,\"exec_error\":%s,\"exec_errno\":%s,\"pid\":%d}\n",
                     exit_s, sig_s, tv_us(ru.ru_utime), tv_us(ru.ru_stime), ru.ru_maxrss,
                     exec_s, errno_s, (int)pid);
  if (len < 0 || (size_t)len >= sizeof line) return KS_FAIL;

  int fd;
  do {
    fd = open(result_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0 || write_all(fd, line, (size_t)len) != 0 || close(fd) != 0) {
    perror("aloft-kickstart: result file");
    return KS_FAIL;
  }
  return code;
}

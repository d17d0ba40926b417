/*
 * tsvisor_sys: the smallest possible bridge from JavaScript to the Linux
 * syscalls a KVM-based VMM needs. Every function wraps exactly one syscall;
 * all policy (struct layouts, ioctl numbers, retry rules) lives in TypeScript.
 *
 * Failures throw a JS Error whose .code is the errno name ("EINTR", ...) and
 * whose .errno is the number, so callers can catch specific conditions.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kvm.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <poll.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define CHECK(call) do { if ((call) != napi_ok) return throw_msg(env, "napi call failed: " #call); } while (0)

static napi_value throw_msg(napi_env env, const char *msg) {
  napi_throw_error(env, "EINVAL", msg);
  return NULL;
}

/* Throw an Error for errno `err`; .code = "EXXX" (strerrorname_np), .errno = err. */
static napi_value throw_errno(napi_env env, int err, const char *what) {
  char msg[160];
  const char *name = strerrorname_np(err);
  if (name == NULL) name = "EUNKNOWN";
  snprintf(msg, sizeof msg, "%s: %s (%s)", what, strerror(err), name);
  napi_value code, text, error, num;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, code, text, &error);
  napi_create_int32(env, err, &num);
  napi_set_named_property(env, error, "errno", num);
  napi_throw(env, error);
  return NULL;
}

static napi_value make_int(napi_env env, int64_t v) {
  napi_value r;
  napi_create_int64(env, v, &r);
  return r;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  for (size_t i = argc; i < want; i++) napi_get_undefined(env, &argv[i]);
  return 1;
}

/* A number argument as int64 (accepts bigint too, for addresses and u64 values). */
static int get_i64(napi_env env, napi_value v, int64_t *out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_number) return napi_get_value_int64(env, v, out) == napi_ok;
  if (t == napi_bigint) {
    bool lossless;
    return napi_get_value_bigint_int64(env, v, out, &lossless) == napi_ok;
  }
  return 0;
}

static int get_u64(napi_env env, napi_value v, uint64_t *out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_bigint) {
    bool lossless;
    return napi_get_value_bigint_uint64(env, v, out, &lossless) == napi_ok;
  }
  if (t == napi_number) {
    double d;
    if (napi_get_value_double(env, v, &d) != napi_ok || d < 0) return 0;
    *out = (uint64_t)d;
    return 1;
  }
  return 0;
}

/* Host pointer of a Buffer / TypedArray / DataView / ArrayBuffer (NULL if it is none of those). */
static void *data_pointer(napi_env env, napi_value v, size_t *len) {
  bool is;
  void *data = NULL;
  size_t n = 0;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type type;
    size_t count, off;
    napi_value ab;
    napi_get_typedarray_info(env, v, &type, &count, &data, &ab, &off);
    size_t esz = 1;
    switch (type) {
      case napi_int16_array: case napi_uint16_array: esz = 2; break;
      case napi_int32_array: case napi_uint32_array: case napi_float32_array: esz = 4; break;
      case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: esz = 8; break;
      default: esz = 1;
    }
    n = count * esz;
  } else if (napi_is_dataview(env, v, &is) == napi_ok && is) {
    napi_value ab;
    size_t off;
    napi_get_dataview_info(env, v, &n, &data, &ab, &off);
  } else if (napi_is_arraybuffer(env, v, &is) == napi_ok && is) {
    napi_get_arraybuffer_info(env, v, &data, &n);
  } else {
    return NULL;
  }
  if (len) *len = n;
  /* A zero-length view may have a NULL data pointer; still "a buffer". */
  return data ? data : (void *)"";
}

/* open(path: string, flags: number): fd */
static napi_value js_open(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return throw_msg(env, "open: bad arguments");
  char path[4096];
  size_t plen;
  int32_t flags = 0;
  if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &plen) != napi_ok) return throw_msg(env, "open: path must be a string");
  napi_get_value_int32(env, argv[1], &flags);
  int fd = open(path, flags | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, errno, path);
  return make_int(env, fd);
}

/* close(fd) */
static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd = -1;
  get_args(env, info, 1, argv);
  napi_get_value_int32(env, argv[0], &fd);
  if (close(fd) < 0) return throw_errno(env, errno, "close");
  return NULL;
}

/*
 * ioctl(fd, request, arg): int. `arg` is an integer (number/bigint, passed by
 * value) or a buffer (its data pointer is passed). request is a u32.
 */
static napi_value js_ioctl(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  size_t argc = 3;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  uint32_t req;
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_uint32(env, argv[1], &req) != napi_ok)
    return throw_msg(env, "ioctl: bad fd or request");
  unsigned long arg = 0;
  if (argc >= 3) {
    /* Numbers first: the hot calls (KVM_RUN, KVM_CHECK_EXTENSION, KVM_IRQ_LINE's fd args) pass integers. */
    napi_valuetype t;
    napi_typeof(env, argv[2], &t);
    if (t == napi_number || t == napi_bigint) {
      int64_t v;
      if (!get_i64(env, argv[2], &v)) return throw_msg(env, "ioctl: bad integer arg");
      arg = (unsigned long)v;
    } else if (t != napi_undefined) {
      void *p = data_pointer(env, argv[2], NULL);
      if (p == NULL) return throw_msg(env, "ioctl: arg must be an integer or a buffer");
      arg = (unsigned long)p;
    }
  }
  int r = ioctl(fd, req, arg);
  if (r < 0) return throw_errno(env, errno, "ioctl");
  return make_int(env, r);
}

/*
 * kvmRun(fd): KVM_RUN on a vCPU fd. Returns 0, or -errno WITHOUT throwing:
 * EINTR after a kick is routine, and building an Error for it would cost more
 * than the exit itself.
 */
static napi_value js_kvm_run(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  int32_t fd = -1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_get_value_int32(env, argv[0], &fd);
  int r = ioctl(fd, KVM_RUN, 0);
  return make_int(env, r < 0 ? -errno : r);
}

/*
 * One mmap'd region, owned by the external ArrayBuffer that exposes it. Live
 * mappings are kept in a list so munmap(buffer) can find and retire one;
 * the list is shared by all threads (workers), hence the mutex.
 */
struct mapping {
  void *addr;
  size_t len;
  int unmapped;
  struct mapping *next;
};
static struct mapping *mappings;
static pthread_mutex_t mappings_lock = PTHREAD_MUTEX_INITIALIZER;

static void finalize_mapping(napi_env env, void *data, void *hint) {
  (void)env; (void)data;
  struct mapping *m = hint;
  pthread_mutex_lock(&mappings_lock);
  for (struct mapping **pp = &mappings; *pp; pp = &(*pp)->next) {
    if (*pp == m) { *pp = m->next; break; }
  }
  int unmapped = m->unmapped;
  pthread_mutex_unlock(&mappings_lock);
  if (!unmapped) munmap(m->addr, m->len);
  free(m);
}

/*
 * mmap(len, prot, flags, fd, offset): { buffer: ArrayBuffer, addr: bigint }.
 * The ArrayBuffer views the mapping directly; when it is garbage collected the
 * mapping is unmapped, so nothing can ever reach freed memory through it.
 */
static napi_value js_mmap(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!get_args(env, info, 5, argv)) return throw_msg(env, "mmap: bad arguments");
  int64_t len, off;
  int32_t prot, flags, fd;
  if (!get_i64(env, argv[0], &len) || len <= 0) return throw_msg(env, "mmap: bad length");
  napi_get_value_int32(env, argv[1], &prot);
  napi_get_value_int32(env, argv[2], &flags);
  napi_get_value_int32(env, argv[3], &fd);
  if (!get_i64(env, argv[4], &off)) off = 0;
  void *p = mmap(NULL, (size_t)len, prot, flags, fd, (off_t)off);
  if (p == MAP_FAILED) return throw_errno(env, errno, "mmap");
  struct mapping *m = calloc(1, sizeof *m);
  if (m == NULL) { munmap(p, (size_t)len); return throw_errno(env, ENOMEM, "mmap"); }
  m->addr = p;
  m->len = (size_t)len;
  napi_value ab, addr, obj;
  if (napi_create_external_arraybuffer(env, p, (size_t)len, finalize_mapping, m, &ab) != napi_ok) {
    munmap(p, (size_t)len);
    free(m);
    return throw_msg(env, "mmap: cannot create external ArrayBuffer");
  }
  pthread_mutex_lock(&mappings_lock);
  m->next = mappings;
  mappings = m;
  pthread_mutex_unlock(&mappings_lock);
  napi_create_bigint_uint64(env, (uint64_t)(uintptr_t)p, &addr);
  napi_create_object(env, &obj);
  napi_set_named_property(env, obj, "buffer", ab);
  napi_set_named_property(env, obj, "addr", addr);
  return obj;
}

/*
 * munmap(buffer): detach the ArrayBuffer returned by mmap (all views become
 * empty) and then unmap, so JS can never touch the unmapped range.
 */
static napi_value js_munmap(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  get_args(env, info, 1, argv);
  bool is = false;
  napi_is_arraybuffer(env, argv[0], &is);
  if (!is) return throw_msg(env, "munmap: argument must be an ArrayBuffer from mmap");
  void *data;
  size_t len;
  napi_get_arraybuffer_info(env, argv[0], &data, &len);
  if (len == 0) return NULL; /* already detached */
  struct mapping *m;
  pthread_mutex_lock(&mappings_lock);
  for (m = mappings; m; m = m->next) {
    if (m->addr == data && m->len == len && !m->unmapped) break;
  }
  if (m) m->unmapped = 1; /* from here on the finalizer will not unmap */
  pthread_mutex_unlock(&mappings_lock);
  if (!m) return throw_msg(env, "munmap: buffer was not returned by mmap");
  if (napi_detach_arraybuffer(env, argv[0]) != napi_ok) return throw_msg(env, "munmap: buffer is not detachable");
  if (munmap(data, len) < 0) return throw_errno(env, errno, "munmap");
  return NULL;
}

/* madvise(buffer, offset, length, advice) on a range of an mmap'd ArrayBuffer. */
static napi_value js_madvise(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  get_args(env, info, 4, argv);
  size_t len;
  uint8_t *base = data_pointer(env, argv[0], &len);
  int64_t off, n;
  int32_t advice;
  if (base == NULL || !get_i64(env, argv[1], &off) || !get_i64(env, argv[2], &n) || napi_get_value_int32(env, argv[3], &advice) != napi_ok)
    return throw_msg(env, "madvise: bad arguments");
  if (off < 0 || n < 0 || (uint64_t)off + (uint64_t)n > len) return throw_msg(env, "madvise: range outside buffer");
  if (madvise(base + off, (size_t)n, advice) < 0) return throw_errno(env, errno, "madvise");
  return NULL;
}

/* eventfd(initval, flags): fd (EFD_CLOEXEC always added). */
static napi_value js_eventfd(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  get_args(env, info, 2, argv);
  uint32_t init = 0;
  int32_t flags = 0;
  napi_get_value_uint32(env, argv[0], &init);
  napi_get_value_int32(env, argv[1], &flags);
  int fd = eventfd(init, flags | EFD_CLOEXEC);
  if (fd < 0) return throw_errno(env, errno, "eventfd");
  return make_int(env, fd);
}

/* eventfdRead(fd): bigint counter; 0n when a non-blocking eventfd is empty (EAGAIN). */
static napi_value js_eventfd_read(napi_env env, napi_callback_info info) {
  napi_value argv[1], r;
  int32_t fd = -1;
  get_args(env, info, 1, argv);
  napi_get_value_int32(env, argv[0], &fd);
  uint64_t v = 0;
  ssize_t n = read(fd, &v, sizeof v);
  if (n < 0 && errno != EAGAIN) return throw_errno(env, errno, "eventfd read");
  if (n < 0) v = 0;
  napi_create_bigint_uint64(env, v, &r);
  return r;
}

/* eventfdWrite(fd, value: number|bigint) */
static napi_value js_eventfd_write(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd = -1;
  get_args(env, info, 2, argv);
  napi_get_value_int32(env, argv[0], &fd);
  uint64_t v;
  if (!get_u64(env, argv[1], &v)) return throw_msg(env, "eventfdWrite: bad value");
  if (write(fd, &v, sizeof v) < 0) return throw_errno(env, errno, "eventfd write");
  return NULL;
}

static napi_value js_gettid(napi_env env, napi_callback_info info) {
  (void)info;
  return make_int(env, (int64_t)syscall(SYS_gettid));
}

/* tgkill(tid, sig): the thread group is always this process. */
static napi_value js_tgkill(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t tid = 0, sig = 0;
  get_args(env, info, 2, argv);
  napi_get_value_int32(env, argv[0], &tid);
  napi_get_value_int32(env, argv[1], &sig);
  if (syscall(SYS_tgkill, getpid(), tid, sig) < 0) return throw_errno(env, errno, "tgkill");
  return NULL;
}

static void kick_handler(int sig) { (void)sig; }

/*
 * installKickSignal(signo): a real no-op handler WITHOUT SA_RESTART, so a
 * blocking KVM_RUN on the signalled thread returns EINTR. Also unblocks the
 * signal on the calling thread (worker threads may inherit a blocked mask).
 */
static napi_value js_install_kick_signal(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t sig = 0;
  get_args(env, info, 1, argv);
  napi_get_value_int32(env, argv[0], &sig);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = kick_handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  if (sigaction(sig, &sa, NULL) < 0) return throw_errno(env, errno, "sigaction");
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  int e = pthread_sigmask(SIG_UNBLOCK, &set, NULL);
  if (e != 0) return throw_errno(env, e, "pthread_sigmask");
  return NULL;
}

/* blockSignal(signo): block the signal on the calling thread (KVM_SET_SIGNAL_MASK unblocks it inside KVM_RUN). */
static napi_value js_block_signal(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t sig = 0;
  get_args(env, info, 1, argv);
  napi_get_value_int32(env, argv[0], &sig);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  int e = pthread_sigmask(SIG_BLOCK, &set, NULL);
  if (e != 0) return throw_errno(env, e, "pthread_sigmask");
  return NULL;
}

/*
 * consumeSignal(signo): boolean. Takes a pending (blocked) signal off the
 * calling thread without waiting; true when one was pending. A kick that made
 * KVM_RUN return EINTR stays pending once KVM restores the blocked mask.
 */
static napi_value js_consume_signal(napi_env env, napi_callback_info info) {
  napi_value argv[1], r;
  int32_t sig = 0;
  get_args(env, info, 1, argv);
  napi_get_value_int32(env, argv[0], &sig);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  struct timespec zero = { 0, 0 };
  int got = sigtimedwait(&set, NULL, &zero);
  if (got < 0 && errno != EAGAIN && errno != EINTR) return throw_errno(env, errno, "sigtimedwait");
  napi_get_boolean(env, got == sig, &r);
  return r;
}

/*
 * startKickTimer(tid, signo, intervalMs): handle. A POSIX timer that sends
 * `signo` to thread `tid` every intervalMs, so a thread blocked in KVM_RUN
 * comes back to userspace periodically even when nobody kicks it.
 */
static napi_value js_start_kick_timer(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t tid = 0, sig = 0;
  double ms = 0;
  get_args(env, info, 3, argv);
  napi_get_value_int32(env, argv[0], &tid);
  napi_get_value_int32(env, argv[1], &sig);
  napi_get_value_double(env, argv[2], &ms);
  if (!(ms > 0 && ms < 3.6e6)) return throw_msg(env, "startKickTimer: interval out of range");
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = sig;
  sev._sigev_un._tid = tid;
  timer_t timer;
  if (timer_create(CLOCK_MONOTONIC, &sev, &timer) < 0) return throw_errno(env, errno, "timer_create");
  struct itimerspec its;
  long long ns = (long long)(ms * 1e6);
  its.it_interval.tv_sec = ns / 1000000000LL;
  its.it_interval.tv_nsec = ns % 1000000000LL;
  its.it_value = its.it_interval;
  if (timer_settime(timer, 0, &its, NULL) < 0) {
    int e = errno;
    timer_delete(timer);
    return throw_errno(env, e, "timer_settime");
  }
  napi_value r;
  napi_create_bigint_int64(env, (int64_t)(intptr_t)timer, &r);
  return r;
}

/* stopKickTimer(handle) */
static napi_value js_stop_kick_timer(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  get_args(env, info, 1, argv);
  int64_t h;
  if (!get_i64(env, argv[0], &h)) return throw_msg(env, "stopKickTimer: bad handle");
  if (timer_delete((timer_t)(intptr_t)h) < 0) return throw_errno(env, errno, "timer_delete");
  return NULL;
}

/* addressOf(view): bigint host address of a buffer's first byte (for structs that embed pointers). */
static napi_value js_address_of(napi_env env, napi_callback_info info) {
  napi_value argv[1], r;
  get_args(env, info, 1, argv);
  void *p = data_pointer(env, argv[0], NULL);
  if (p == NULL) return throw_msg(env, "addressOf: argument must be a buffer");
  napi_create_bigint_uint64(env, (uint64_t)(uintptr_t)p, &r);
  return r;
}


/* Resolve (buffer, offset, length) to a pointer inside the buffer, or NULL when out of range. */
static uint8_t *buf_range(napi_env env, napi_value b, napi_value o, napi_value l, size_t *outlen) {
  size_t blen = 0;
  uint8_t *p = data_pointer(env, b, &blen);
  int64_t off = 0, len = 0;
  if (p == NULL || !get_i64(env, o, &off) || !get_i64(env, l, &len)) return NULL;
  if (off < 0 || len < 0 || (uint64_t)off > blen || (uint64_t)len > blen - (uint64_t)off) return NULL;
  *outlen = (size_t)len;
  return p + off;
}

/* readFd(fd, buffer, offset, length): bytes read, or -errno (never throws for I/O errors). */
static napi_value js_read_fd(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t fd = -1;
  get_args(env, info, 4, argv);
  napi_get_value_int32(env, argv[0], &fd);
  size_t len = 0;
  uint8_t *p = buf_range(env, argv[1], argv[2], argv[3], &len);
  if (p == NULL) return throw_msg(env, "readFd: bad buffer range");
  ssize_t n = read(fd, p, len);
  return make_int(env, n < 0 ? -errno : n);
}

/* writeFd(fd, buffer, offset, length): bytes written, or -errno. */
static napi_value js_write_fd(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t fd = -1;
  get_args(env, info, 4, argv);
  napi_get_value_int32(env, argv[0], &fd);
  size_t len = 0;
  uint8_t *p = buf_range(env, argv[1], argv[2], argv[3], &len);
  if (p == NULL) return throw_msg(env, "writeFd: bad buffer range");
  ssize_t n = write(fd, p, len);
  return make_int(env, n < 0 ? -errno : n);
}

/*
 * pollFds(fds: Int32Array, events, timeoutMs): bitmask of the fds (index < 31)
 * whose revents are non-zero; 0 on timeout; -errno on failure (EINTR included).
 */
static napi_value js_poll_fds(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  get_args(env, info, 3, argv);
  size_t blen = 0;
  int32_t *fds = data_pointer(env, argv[0], &blen);
  int32_t events = 0, timeout = 0;
  napi_get_value_int32(env, argv[1], &events);
  napi_get_value_int32(env, argv[2], &timeout);
  size_t n = blen / 4;
  if (fds == NULL || n == 0 || n > 31) return throw_msg(env, "pollFds: 1..31 fds");
  struct pollfd pf[31];
  for (size_t i = 0; i < n; i++) { pf[i].fd = fds[i]; pf[i].events = (short)events; pf[i].revents = 0; }
  int r = poll(pf, n, timeout);
  if (r < 0) return make_int(env, -errno);
  int64_t mask = 0;
  for (size_t i = 0; i < n; i++) if (pf[i].revents) mask |= (int64_t)1 << i;
  return make_int(env, mask);
}

/* setns(fd, nstype): move the CALLING THREAD into a namespace (a tap opened next is created there). */
static napi_value js_setns(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd = -1, type = 0;
  get_args(env, info, 2, argv);
  napi_get_value_int32(env, argv[0], &fd);
  napi_get_value_int32(env, argv[1], &type);
  if (setns(fd, type) < 0) return throw_errno(env, errno, "setns");
  return NULL;
}

/* fallocate(fd, mode, offset, length): e.g. FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE to deallocate a range. */
static napi_value js_fallocate(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t fd = -1, mode = 0;
  int64_t off, len;
  get_args(env, info, 4, argv);
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int32(env, argv[1], &mode) != napi_ok ||
      !get_i64(env, argv[2], &off) || !get_i64(env, argv[3], &len))
    return throw_msg(env, "fallocate: bad arguments");
  if (fallocate(fd, mode, (off_t)off, (off_t)len) < 0) return throw_errno(env, errno, "fallocate");
  return NULL;
}

/*
 * preadv2 / pwritev2 over segments of one buffer: (fd, buffer, segs: Float64Array of
 * [offset, length] pairs inside the buffer, count, pos, flags). Bytes moved, or -errno
 * (never throws for I/O errors). Zero-copy vectored I/O straight into / out of a
 * guest memory region; flags e.g. RWF_NOWAIT (page-cache hits only, else -EAGAIN).
 */
#define RW_SEGS_MAX 1024
static napi_value rw_segs(napi_env env, napi_callback_info info, int write_op) {
  napi_value argv[6];
  get_args(env, info, 6, argv);
  int32_t fd = -1, count = 0, flags = 0;
  int64_t pos = 0;
  size_t blen = 0, slen = 0;
  napi_get_value_int32(env, argv[0], &fd);
  uint8_t *base = data_pointer(env, argv[1], &blen);
  double *segs = data_pointer(env, argv[2], &slen);
  if (base == NULL || segs == NULL || napi_get_value_int32(env, argv[3], &count) != napi_ok || !get_i64(env, argv[4], &pos) ||
      napi_get_value_int32(env, argv[5], &flags) != napi_ok)
    return throw_msg(env, write_op ? "pwritev: bad arguments" : "preadv: bad arguments");
  if (count < 1 || count > RW_SEGS_MAX || (size_t)count * 16 > slen || pos < 0) return throw_msg(env, write_op ? "pwritev: bad segments" : "preadv: bad segments");
  struct iovec iov[RW_SEGS_MAX];
  for (int32_t i = 0; i < count; i++) {
    double o = segs[2 * i], l = segs[2 * i + 1];
    if (!(o >= 0 && l >= 0 && o <= (double)blen && l <= (double)blen - o)) return throw_msg(env, write_op ? "pwritev: segment outside the buffer" : "preadv: segment outside the buffer");
    iov[i].iov_base = base + (size_t)o;
    iov[i].iov_len = (size_t)l;
  }
  ssize_t n = write_op ? pwritev2(fd, iov, count, (off_t)pos, flags) : preadv2(fd, iov, count, (off_t)pos, flags);
  return make_int(env, n < 0 ? -errno : n);
}

static napi_value js_preadv(napi_env env, napi_callback_info info) { return rw_segs(env, info, 0); }
static napi_value js_pwritev(napi_env env, napi_callback_info info) { return rw_segs(env, info, 1); }

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "open", 0, js_open, 0, 0, 0, napi_enumerable, 0 },
    { "close", 0, js_close, 0, 0, 0, napi_enumerable, 0 },
    { "ioctl", 0, js_ioctl, 0, 0, 0, napi_enumerable, 0 },
    { "kvmRun", 0, js_kvm_run, 0, 0, 0, napi_enumerable, 0 },
    { "mmap", 0, js_mmap, 0, 0, 0, napi_enumerable, 0 },
    { "munmap", 0, js_munmap, 0, 0, 0, napi_enumerable, 0 },
    { "madvise", 0, js_madvise, 0, 0, 0, napi_enumerable, 0 },
    { "eventfd", 0, js_eventfd, 0, 0, 0, napi_enumerable, 0 },
    { "eventfdRead", 0, js_eventfd_read, 0, 0, 0, napi_enumerable, 0 },
    { "eventfdWrite", 0, js_eventfd_write, 0, 0, 0, napi_enumerable, 0 },
    { "gettid", 0, js_gettid, 0, 0, 0, napi_enumerable, 0 },
    { "tgkill", 0, js_tgkill, 0, 0, 0, napi_enumerable, 0 },
    { "installKickSignal", 0, js_install_kick_signal, 0, 0, 0, napi_enumerable, 0 },
    { "blockSignal", 0, js_block_signal, 0, 0, 0, napi_enumerable, 0 },
    { "consumeSignal", 0, js_consume_signal, 0, 0, 0, napi_enumerable, 0 },
    { "startKickTimer", 0, js_start_kick_timer, 0, 0, 0, napi_enumerable, 0 },
    { "stopKickTimer", 0, js_stop_kick_timer, 0, 0, 0, napi_enumerable, 0 },
    { "addressOf", 0, js_address_of, 0, 0, 0, napi_enumerable, 0 },
    { "readFd", 0, js_read_fd, 0, 0, 0, napi_enumerable, 0 },
    { "writeFd", 0, js_write_fd, 0, 0, 0, napi_enumerable, 0 },
    { "pollFds", 0, js_poll_fds, 0, 0, 0, napi_enumerable, 0 },
    { "setns", 0, js_setns, 0, 0, 0, napi_enumerable, 0 },
    { "fallocate", 0, js_fallocate, 0, 0, 0, napi_enumerable, 0 },
    { "preadv", 0, js_preadv, 0, 0, 0, napi_enumerable, 0 },
    { "pwritev", 0, js_pwritev, 0, 0, 0, napi_enumerable, 0 },
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }

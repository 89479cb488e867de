/*
 * spread_udp: the daemon's UDP sockets without Node's per-datagram costs (SPEC.md Part VIII §9).
 *
 * node:dgram builds an address object, a Buffer and a callback per received datagram and a
 * request object per send. This addon gives the UDP edge (src/daemon/net/udp-native.ts) plain
 * file descriptors instead: one readiness callback per wakeup, recvmmsg into a slab the caller
 * owns, and sendmmsg straight from the caller's bytes. It makes no protocol decision and keeps no
 * state but the poll handles. Optional: without it the edge uses node:dgram.
 *
 * Written for spread-ts (BSD-3-Clause, see LICENSE). It contains nothing of the Spread Toolkit's
 * code: it only wraps Linux socket calls (socket, bind, recvmmsg, sendmmsg) for Node, and glibc's
 * mallopt for the daemon's malloc arena cap (SPEC.md Part VIII §10).
 *
 *   open(ip, port)                    -> fd            IPv4 socket bound to ip:port, non-blocking
 *   setInt(fd, level, name, value)    -> undefined     setsockopt with an int
 *   getInt(fd, level, name)           -> int           getsockopt of an int
 *   localPort(fd)                     -> port
 *   recv(fd, slab, slot, max, meta)   -> count         recvmmsg: datagram i in slab[i*slot ..],
 *                                                      meta[3i] = length (slot + 1 when cut),
 *                                                      meta[3i+1] = source ip, meta[3i+2] = port
 *   sendBatch(fd, list, ips, ports, n) -> refused * 65536 + first errno (0: all sent)
 *                                                      sendmmsg of list[i] to ips[i]:ports[i], in order
 *   watch(fd, callback)               -> handle        callback() each time fd is readable
 *   unwatch(handle)                   -> undefined
 *   close(fd)                         -> undefined
 *   mallocArenas(n)                   -> applied       glibc: at most n malloc arenas (mallopt M_ARENA_MAX)
 *   constants                         -> { SOL_SOCKET, SO_RCVBUF, ... }
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <uv.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#define MAX_BATCH 256
/* A send that finds the socket buffer full waits this long for room once, then fails EAGAIN. */
#define SEND_WAIT_MS 10

#define CHECK(call)                                                      \
  do {                                                                   \
    if ((call) != napi_ok) {                                             \
      napi_throw_error(env, "ERR_SPREAD_UDP", "napi call failed: " #call); \
      return NULL;                                                       \
    }                                                                    \
  } while (0)

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  const char *name = uv_err_name(-err);
  snprintf(msg, sizeof msg, "%s: %s (%s)", what, strerror(err), name);
  napi_throw_error(env, name, msg);
  return NULL;
}

static napi_value make_int(napi_env env, int64_t v) {
  napi_value out;
  if (napi_create_int64(env, v, &out) != napi_ok) return NULL;
  return out;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, "ERR_SPREAD_UDP_ARGS", "spread_udp: missing arguments");
    return 0;
  }
  return 1;
}

static int arg_i32(napi_env env, napi_value v, int32_t *out) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    napi_throw_type_error(env, "ERR_SPREAD_UDP_ARGS", "spread_udp: expected a number");
    return 0;
  }
  return 1;
}

static int arg_u32(napi_env env, napi_value v, uint32_t *out) {
  if (napi_get_value_uint32(env, v, out) != napi_ok) {
    napi_throw_type_error(env, "ERR_SPREAD_UDP_ARGS", "spread_udp: expected a number");
    return 0;
  }
  return 1;
}

static int arg_bytes(napi_env env, napi_value v, void **data, size_t *len) {
  bool is;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type t;
    size_t n, off;
    napi_value ab;
    if (napi_get_typedarray_info(env, v, &t, &n, data, &ab, &off) != napi_ok) return 0;
    size_t el = (t == napi_int32_array || t == napi_uint32_array || t == napi_float32_array) ? 4
              : (t == napi_int16_array || t == napi_uint16_array) ? 2
              : (t == napi_float64_array || t == napi_bigint64_array || t == napi_biguint64_array) ? 8 : 1;
    *len = n * el;
    return 1;
  }
  napi_throw_type_error(env, "ERR_SPREAD_UDP_ARGS", "spread_udp: expected a typed array");
  return 0;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint32_t ip, port;
  if (!get_args(env, info, 2, argv) || !arg_u32(env, argv[0], &ip) || !arg_u32(env, argv[1], &port)) return NULL;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(ip);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind", err);
  }
  return make_int(env, fd);
}

static napi_value js_set_int(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t fd, level, name, value;
  if (!get_args(env, info, 4, argv) || !arg_i32(env, argv[0], &fd) || !arg_i32(env, argv[1], &level) ||
      !arg_i32(env, argv[2], &name) || !arg_i32(env, argv[3], &value)) return NULL;
  if (setsockopt(fd, level, name, &value, sizeof value) < 0) return throw_errno(env, "setsockopt", errno);
  return NULL;
}

static napi_value js_get_int(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd, level, name, value = 0;
  socklen_t len = sizeof value;
  if (!get_args(env, info, 3, argv) || !arg_i32(env, argv[0], &fd) || !arg_i32(env, argv[1], &level) ||
      !arg_i32(env, argv[2], &name)) return NULL;
  if (getsockopt(fd, level, name, &value, &len) < 0) return throw_errno(env, "getsockopt", errno);
  return make_int(env, value);
}

static napi_value js_local_port(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (!get_args(env, info, 1, argv) || !arg_i32(env, argv[0], &fd)) return NULL;
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  if (getsockname(fd, (struct sockaddr *)&a, &len) < 0) return throw_errno(env, "getsockname", errno);
  return make_int(env, ntohs(a.sin_port));
}

static napi_value js_recv(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int32_t fd, slot, max;
  void *slab, *meta;
  size_t slab_len, meta_len;
  if (!get_args(env, info, 5, argv) || !arg_i32(env, argv[0], &fd) || !arg_bytes(env, argv[1], &slab, &slab_len) ||
      !arg_i32(env, argv[2], &slot) || !arg_i32(env, argv[3], &max) || !arg_bytes(env, argv[4], &meta, &meta_len)) return NULL;
  if (slot <= 0 || max <= 0) return make_int(env, 0);
  if (max > MAX_BATCH) max = MAX_BATCH;
  if ((size_t)max * (size_t)slot > slab_len) max = (int32_t)(slab_len / (size_t)slot);
  if ((size_t)max * 3 * sizeof(int32_t) > meta_len) max = (int32_t)(meta_len / (3 * sizeof(int32_t)));
  if (max <= 0) return make_int(env, 0);
  struct mmsghdr msgs[MAX_BATCH];
  struct iovec iov[MAX_BATCH];
  struct sockaddr_in from[MAX_BATCH];
  memset(msgs, 0, sizeof(struct mmsghdr) * (size_t)max);
  for (int i = 0; i < max; i++) {
    iov[i].iov_base = (char *)slab + (size_t)i * (size_t)slot;
    iov[i].iov_len = (size_t)slot;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &from[i];
    msgs[i].msg_hdr.msg_namelen = sizeof from[i];
  }
  int n;
  do n = recvmmsg(fd, msgs, (unsigned)max, MSG_DONTWAIT, NULL); while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return make_int(env, 0);
    return make_int(env, -errno);
  }
  int32_t *m = (int32_t *)meta;
  for (int i = 0; i < n; i++) {
    int cut = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
    m[3 * i] = cut ? slot + 1 : (int32_t)msgs[i].msg_len;
    m[3 * i + 1] = (int32_t)ntohl(from[i].sin_addr.s_addr);
    m[3 * i + 2] = ntohs(from[i].sin_port);
  }
  return make_int(env, n);
}

/* Waits briefly for room in the send buffer, as the reference's blocking socket would. */
static void wait_writable(int fd) {
  struct pollfd pfd = {fd, POLLOUT, 0};
  poll(&pfd, 1, SEND_WAIT_MS);
}

static napi_value js_send_batch(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int32_t fd, n;
  void *ips_p, *ports_p;
  size_t ips_len, ports_len;
  if (!get_args(env, info, 5, argv) || !arg_i32(env, argv[0], &fd) || !arg_bytes(env, argv[2], &ips_p, &ips_len) ||
      !arg_bytes(env, argv[3], &ports_p, &ports_len) || !arg_i32(env, argv[4], &n)) return NULL;
  if (n > MAX_BATCH) n = MAX_BATCH;
  if ((size_t)n * 4 > ips_len || (size_t)n * 4 > ports_len) n = (int32_t)((ips_len < ports_len ? ips_len : ports_len) / 4);
  const uint32_t *ips = ips_p, *ports = ports_p;
  struct mmsghdr msgs[MAX_BATCH];
  struct iovec iov[MAX_BATCH];
  struct sockaddr_in to[MAX_BATCH];
  memset(msgs, 0, sizeof(struct mmsghdr) * (size_t)(n > 0 ? n : 1));
  for (int i = 0; i < n; i++) {
    napi_value el;
    if (napi_get_element(env, argv[1], (uint32_t)i, &el) != napi_ok || !arg_bytes(env, el, &iov[i].iov_base, &iov[i].iov_len)) return NULL;
    memset(&to[i], 0, sizeof to[i]);
    to[i].sin_family = AF_INET;
    to[i].sin_port = htons((uint16_t)ports[i]);
    to[i].sin_addr.s_addr = htonl(ips[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &to[i];
    msgs[i].msg_hdr.msg_namelen = sizeof to[i];
  }
  /* Sends in order; a datagram the kernel refuses is counted and skipped, the rest still go. */
  int failed = 0, first_err = 0, waited = 0;
  for (int i = 0; i < n;) {
    int r;
    do r = sendmmsg(fd, msgs + i, (unsigned)(n - i), MSG_DONTWAIT); while (r < 0 && errno == EINTR);
    if (r > 0) {
      i += r;
      waited = 0;
      continue;
    }
    int err = r < 0 ? errno : EIO;
    if ((err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) && !waited) {
      wait_writable(fd);
      waited = 1;
      continue;
    }
    if (first_err == 0) first_err = err;
    failed++;
    i++;
    waited = 0;
  }
  /* Returns the count refused, times 65536, plus the first errno (0: all sent). */
  return make_int(env, (int64_t)failed * 65536 + first_err);
}

typedef struct {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  int closing;
} watch_t;

static void on_closed(uv_handle_t *h) { free(h->data); }

static void on_readable(uv_poll_t *p, int status, int events) {
  (void)status;
  (void)events;
  watch_t *w = (watch_t *)p->data;
  if (w->closing) return;
  napi_env env = w->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, result;
  if (napi_get_reference_value(env, w->callback, &cb) == napi_ok && napi_get_global(env, &recv) == napi_ok) {
    /* make_callback: nextTicks and microtasks run after it, as after any Node I/O callback. */
    if (napi_make_callback(env, w->context, recv, cb, 0, NULL, &result) == napi_pending_exception) {
      napi_value exc;
      napi_get_and_clear_last_exception(env, &exc);
      napi_fatal_exception(env, exc);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void finalize_watch(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  (void)hint;
}

static napi_value js_watch(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd;
  if (!get_args(env, info, 2, argv) || !arg_i32(env, argv[0], &fd)) return NULL;
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  watch_t *w = calloc(1, sizeof *w);
  if (w == NULL) return throw_errno(env, "watch", ENOMEM);
  w->env = env;
  napi_value name;
  CHECK(napi_create_string_utf8(env, "SpreadUdp", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &w->context));
  CHECK(napi_create_reference(env, argv[1], 1, &w->callback));
  int r = uv_poll_init(loop, &w->poll, fd);
  if (r != 0) {
    napi_delete_reference(env, w->callback);
    napi_async_destroy(env, w->context);
    free(w);
    return throw_errno(env, "uv_poll_init", -r);
  }
  w->poll.data = w;
  uv_poll_start(&w->poll, UV_READABLE, on_readable);
  napi_value handle;
  CHECK(napi_create_external(env, w, finalize_watch, NULL, &handle));
  return handle;
}

static napi_value js_unwatch(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  watch_t *w;
  CHECK(napi_get_value_external(env, argv[0], (void **)&w));
  if (w == NULL || w->closing) return NULL;
  w->closing = 1;
  uv_poll_stop(&w->poll);
  napi_delete_reference(env, w->callback);
  napi_async_destroy(env, w->context);
  uv_close((uv_handle_t *)&w->poll, on_closed);
  return NULL;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (!get_args(env, info, 1, argv) || !arg_i32(env, argv[0], &fd)) return NULL;
  close(fd);
  return NULL;
}

/* mallocArenas(n): caps glibc's malloc arenas at n (mallopt M_ARENA_MAX); false where that is not glibc. */
static napi_value js_malloc_arenas(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t n;
  if (!get_args(env, info, 1, argv) || !arg_i32(env, argv[0], &n)) return NULL;
  int ok = 0;
#ifdef __GLIBC__
  ok = n > 0 && mallopt(M_ARENA_MAX, n) == 1;
#endif
  napi_value r;
  CHECK(napi_get_boolean(env, ok, &r));
  return r;
}

static void set_const(napi_env env, napi_value obj, const char *name, int v) {
  napi_value n = make_int(env, v);
  if (n != NULL) napi_set_named_property(env, obj, name, n);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor fns[] = {
    {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
    {"setInt", NULL, js_set_int, NULL, NULL, NULL, napi_default, NULL},
    {"getInt", NULL, js_get_int, NULL, NULL, NULL, napi_default, NULL},
    {"localPort", NULL, js_local_port, NULL, NULL, NULL, napi_default, NULL},
    {"recv", NULL, js_recv, NULL, NULL, NULL, napi_default, NULL},
    {"sendBatch", NULL, js_send_batch, NULL, NULL, NULL, napi_default, NULL},
    {"watch", NULL, js_watch, NULL, NULL, NULL, napi_default, NULL},
    {"unwatch", NULL, js_unwatch, NULL, NULL, NULL, napi_default, NULL},
    {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
    {"mallocArenas", NULL, js_malloc_arenas, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns) != napi_ok) return NULL;
  napi_value c;
  if (napi_create_object(env, &c) != napi_ok) return NULL;
  set_const(env, c, "SOL_SOCKET", SOL_SOCKET);
  set_const(env, c, "SO_RCVBUF", SO_RCVBUF);
  set_const(env, c, "SO_SNDBUF", SO_SNDBUF);
  set_const(env, c, "SO_BROADCAST", SO_BROADCAST);
  set_const(env, c, "IPPROTO_IP", IPPROTO_IP);
  set_const(env, c, "IP_MULTICAST_TTL", IP_MULTICAST_TTL);
  set_const(env, c, "MAX_BATCH", MAX_BATCH);
  napi_set_named_property(env, exports, "constants", c);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

// @proxyha/netio native addon, part 2: a TCP relay engine (class RelayEngine).
//
// Why: a relay written with Node's net.Socket costs about 85 µs of user time per connection (two
// Duplex streams, their events and nextTick chains), against HAProxy's 9: bench/RESULTS.md, "The relay,
// 2026-12-01". This engine does the per-connection work in C++ with the same system calls a C proxy
// makes, and leaves only the decision (which node takes this client) to JavaScript.
//
// Shape: one epoll instance per engine, holding the listening sockets (level-triggered), both sockets of
// every connection (edge-triggered, registered once for EPOLLIN | EPOLLOUT | EPOLLRDHUP: no epoll_ctl per
// read or write), a timerfd for the idle / connect timeouts and an eventfd to come back for work left
// over. The epoll fd itself is watched by one uv_poll_t on Node's event loop: everything runs on the JS
// thread, so a new client goes to JS and comes back as connect() within the same turn, without a thread
// hop, a lock or a wake-up (a thread of its own would add two cross-thread wake-ups per connection).
//
// Per round (the epoll fd is readable): epoll_wait(0), handle every event, then hand JS the events of the
// round in one call: a flat array of records
//   1 accepted        conn, listener, client address, client port, local address, local port
//   2 connected       conn
//   3 connect failed  conn, errno name, timed out (0/1)      (the node side is closed; JS retries or rejects)
//   4 closed          conn, reason (0 both ended, 1 idle timeout, 2 socket error), error side (0 none,
//                     1 client, 2 node), errno name or "", bytes client -> node, bytes node -> client
//   5 accept error    listener, errno name                   (EMFILE...; the listener pauses 100 ms)
// JS answers an accepted client with connect(conn, host, port, header, connectTimeoutMs, idleTimeoutMs)
// or reject(conn), at once or later.
//
// Copying: a read into one scratch buffer shared by all connections, written to the other side at once;
// what the other side does not take is kept in a buffer of the direction's own and nothing more is read
// from that side until it is written (backpressure: the kernel's receive window closes). A direction whose
// reads bring 16 KiB or more switches to splice(2) through a pipe of its own (from a small pool): the
// bytes move socket -> pipe -> socket inside the kernel. If splice fails with EINVAL the direction stays
// on read/write. Half-close: a side's FIN becomes shutdown(SHUT_WR) of the other side once everything
// before it is written; when both directions have ended both sockets are closed. Nothing here allocates
// per read; a connection is one heap object and, while it moves bulk data, a pipe.
//
// File descriptors: two per connection, two per pipe (returned to the pool when empty, else closed),
// one per listener, and three per engine (epoll, timerfd, eventfd). close() (and the environment's
// cleanup hook, e.g. a worker thread ending) closes all of them.

// node-gyp compiles with _FILE_OFFSET_BITS=64, which makes glibc >= 2.28 headers bind fcntl() to
// fcntl64@GLIBC_2.28; on 64-bit Linux off_t is 64 bits either way, so this file asks for the old symbol and
// the binary keeps loading on older C libraries (see README, Prebuilt binaries).
#undef _FILE_OFFSET_BITS

#include <napi.h>
#include <uv.h>

#include "napi-errors.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <memory>
#include <new>
#include <string>

namespace netio_relay {

constexpr uint32_t kTagListener = 1;
constexpr uint32_t kTagClient = 2;
constexpr uint32_t kTagNode = 3;
constexpr uint32_t kTagTimer = 4;
constexpr uint32_t kTagKick = 5;

constexpr size_t kChunk = 64 * 1024;        // read size of the read/write path
constexpr ssize_t kBulk = 16 * 1024;        // a read this large moves the direction to splice
constexpr int kPipeSize = 256 * 1024;       // asked for with F_SETPIPE_SZ (kept at 64 KiB if refused)
constexpr size_t kPipePool = 64;            // empty pipes kept for reuse
constexpr int kReadsPerTurn = 16;           // reads per direction before other connections get a turn
constexpr int kAcceptsPerTurn = 128;        // accepts per listener and round
constexpr int kEventsPerRound = 256;
constexpr uint32_t kSlotBits = 20;          // at most 2^20 connections at once; the rest of an id is a generation
constexpr uint32_t kSlotMask = (1u << kSlotBits) - 1;

enum : uint8_t { kEvAccepted = 1, kEvConnected = 2, kEvConnectFailed = 3, kEvClosed = 4, kEvAcceptError = 5 };
enum : uint8_t { kReasonEnd = 0, kReasonIdle = 1, kReasonError = 2 };
enum : uint8_t { kSideNone = 0, kSideClient = 1, kSideNode = 2 };

using netio_errors::ArgError;
using netio_errors::SysError;

// A growable array of trivially copyable items on malloc/realloc. (std::vector and std::unordered_map of
// GCC 11 and later reference libstdc++ symbols of GLIBCXX_3.4.29, which older distributions lack; the
// prebuilt binary must load wherever Node 20 runs.)
template <typename T>
struct Vec {
  T* data = nullptr;
  uint32_t size = 0;
  uint32_t cap = 0;
  Vec() = default;
  Vec(const Vec&) = delete;
  Vec& operator=(const Vec&) = delete;
  ~Vec() { free(data); }
  bool push(const T& v) {
    if (size == cap) {
      uint32_t n = cap == 0 ? 16 : cap * 2;
      T* p = static_cast<T*>(realloc(data, sizeof(T) * n));
      if (p == nullptr) return false;
      data = p;
      cap = n;
    }
    data[size++] = v;
    return true;
  }
  void swap(Vec& o) {
    T* d = data;
    uint32_t s = size;
    uint32_t c = cap;
    data = o.data;
    size = o.size;
    cap = o.cap;
    o.data = d;
    o.size = s;
    o.cap = c;
  }
  T& operator[](uint32_t i) { return data[i]; }
};

// Parses an IPv4 or IPv6 address (no brackets, no zone) and a port into `out`; false when not an address.
bool ParseAddress(const std::string& host, int port, sockaddr_storage* out, socklen_t* len) {
  memset(out, 0, sizeof *out);
  auto* in4 = reinterpret_cast<sockaddr_in*>(out);
  if (inet_pton(AF_INET, host.c_str(), &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
    in4->sin_port = htons(static_cast<uint16_t>(port));
    *len = sizeof(sockaddr_in);
    return true;
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(out);
  if (inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    *len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

// The text and port of a socket address (inet_ntop: the same text as Node's remoteAddress).
void AddressText(const sockaddr_storage& a, char* text, size_t size, int* port) {
  text[0] = '\0';
  *port = 0;
  if (a.ss_family == AF_INET) {
    const auto* in4 = reinterpret_cast<const sockaddr_in*>(&a);
    inet_ntop(AF_INET, &in4->sin_addr, text, static_cast<socklen_t>(size));
    *port = ntohs(in4->sin_port);
  } else if (a.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a);
    inet_ntop(AF_INET6, &in6->sin6_addr, text, static_cast<socklen_t>(size));
    *port = ntohs(in6->sin6_port);
  }
}

struct Side {
  int fd = -1;
  bool readable = false;  // edge-triggered: set by EPOLLIN, cleared by EAGAIN (or a short read, see Pump)
  bool writable = false;  // set by EPOLLOUT, cleared by EAGAIN or a short write
  bool hup = false;       // EPOLLRDHUP / EPOLLHUP / EPOLLERR seen: read until 0 or an error
  bool eof = false;       // read returned 0
  bool outWatched = true; // registered for EPOLLOUT (a client only once a write to it was short)
};

struct Pipe {
  int r = -1;
  int w = -1;
  int capacity = 0;
};

// One direction of a connection: bytes read from one side wait here until the other side takes them.
struct Dir {
  char* buf = nullptr;  // kChunk bytes, allocated when a write is short (or for the PROXY header)
  uint32_t off = 0;
  uint32_t len = 0;
  Pipe pipe;            // splice mode when pipe.r >= 0
  uint32_t piped = 0;   // bytes in the pipe
  bool wantSplice = false;
  bool noSplice = false;
  bool done = false;    // the FIN went on (shutdown of the other side)
  uint64_t bytes = 0;   // bytes read from the source side (a PROXY header is not counted)
  bool splicing() const { return pipe.r >= 0; }
  uint32_t pending() const { return splicing() ? piped : len - off; }
};

enum class State : uint8_t { Accepted, Connecting, Established };

struct Conn {
  uint32_t id = 0;
  uint32_t listener = 0;
  uint32_t attempt = 0;  // bumped per connect: events of an earlier node socket are ignored
  State state = State::Accepted;
  bool closed = false;
  bool deferred = false;
  Side client;
  Side node;
  Dir up;    // client -> node
  Dir down;  // node -> client
  int64_t lastActive = 0;
  int64_t deadline = 0;  // connect deadline (0: none)
  uint32_t idleMs = 0;
};

struct Listener {
  uint32_t id = 0;
  int fd = -1;
  bool wildcard = false;
  bool paused = false;
  int64_t resumeAt = 0;
  sockaddr_storage local{};
};

struct Event {
  uint8_t type = 0;
  uint8_t reason = 0;
  uint8_t side = 0;
  uint8_t timedOut = 0;
  uint32_t conn = 0;
  uint32_t listener = 0;
  int err = 0;
  uint64_t toNode = 0;
  uint64_t toClient = 0;
  sockaddr_storage peer;
  sockaddr_storage local;
};

struct PollHandle {
  uv_poll_t poll;
};

class RelayEngine : public Napi::ObjectWrap<RelayEngine> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "RelayEngine",
                       {
                           InstanceMethod("listen", &RelayEngine::Listen),
                           InstanceMethod("closeListener", &RelayEngine::CloseListenerJs),
                           InstanceMethod("connect", &RelayEngine::Connect),
                           InstanceMethod("reject", &RelayEngine::Reject),
                           InstanceMethod("destroy", &RelayEngine::Destroy),
                           InstanceMethod("stats", &RelayEngine::Stats),
                           InstanceMethod("bytes", &RelayEngine::Bytes),
                           InstanceMethod("close", &RelayEngine::CloseJs),
                       });
  }

  // new RelayEngine(onEvents)
  explicit RelayEngine(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RelayEngine>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) throw ArgError(env, "RelayEngine(onEvents) expects a function");
    env_ = env;
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) throw SysError(env, errno, "epoll_create1");
    timerfd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    kickfd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    scratch_ = static_cast<char*>(malloc(kChunk));
    if (timerfd_ < 0 || kickfd_ < 0 || scratch_ == nullptr) {
      int err = scratch_ == nullptr ? ENOMEM : errno;
      CloseFds();
      throw SysError(env, err, timerfd_ < 0 ? "timerfd_create" : kickfd_ < 0 ? "eventfd" : "malloc");
    }
    if (!Watch(timerfd_, EPOLLIN, kTagTimer, 0) || !Watch(kickfd_, EPOLLIN, kTagKick, 0)) {
      int err = errno;
      CloseFds();
      throw SysError(env, err, "epoll_ctl");
    }
    napi_get_uv_event_loop(env, &loop_);
    handle_ = new PollHandle();
    int rc = uv_poll_init(loop_, &handle_->poll, epfd_);
    if (rc == 0) {
      handle_->poll.data = this;
      rc = uv_poll_start(&handle_->poll, UV_READABLE, &RelayEngine::OnPoll);
      if (rc != 0) {
        uv_close(reinterpret_cast<uv_handle_t*>(&handle_->poll),
                 [](uv_handle_t* h) { delete reinterpret_cast<PollHandle*>(h); });
        handle_ = nullptr;
      }
    } else {
      delete handle_;
      handle_ = nullptr;
    }
    if (rc != 0) {
      CloseFds();
      throw SysError(env, -rc, "uv_poll_start");
    }
    uv_unref(reinterpret_cast<uv_handle_t*>(&handle_->poll));  // referenced while it has work (UpdateRef)
    onEvents_ = Napi::Persistent(info[0].As<Napi::Function>());
    context_ = std::make_unique<Napi::AsyncContext>(env, "proxyha:relay");
    napi_add_env_cleanup_hook(env, &RelayEngine::Cleanup, this);
    hooked_ = true;
  }

  ~RelayEngine() override {
    Shutdown();
    if (hooked_) napi_remove_env_cleanup_hook(env_, &RelayEngine::Cleanup, this);
  }

 private:
  napi_env env_ = nullptr;
  int epfd_ = -1;
  int timerfd_ = -1;
  int kickfd_ = -1;
  PollHandle* handle_ = nullptr;
  char* scratch_ = nullptr;
  bool closed_ = false;
  bool hooked_ = false;
  bool inRound_ = false;
  bool flushing_ = false;
  bool kicked_ = false;
  bool referenced_ = false;
  bool timerArmed_ = false;
  uint32_t timerInterval_ = 0;
  uv_loop_t* loop_ = nullptr;
  int64_t now_ = 0;
  uint32_t nextListener_ = 1;
  uint64_t buffered_ = 0;
  Vec<Conn*> slots_;          // connection ids are slot | generation << kSlotBits
  Vec<uint16_t> generations_;
  Vec<uint32_t> freeSlots_;
  uint32_t open_ = 0;         // connections
  Vec<Listener> listeners_;
  Vec<Pipe> pipes_;
  Vec<uint32_t> deferred_;
  Vec<Conn*> graveyard_;
  Vec<Event> events_;
  Napi::FunctionReference onEvents_;
  std::unique_ptr<Napi::AsyncContext> context_;

  static void Cleanup(void* arg) {
    auto* self = static_cast<RelayEngine*>(arg);
    self->hooked_ = false;
    self->Shutdown();
  }

  void CheckOpen(Napi::Env env) {
    if (closed_) throw SysError(env, EBADF, "closed");
  }

  static uint64_t Tag(uint32_t id, uint32_t attempt, uint32_t tag) {
    return (static_cast<uint64_t>(id) << 32) | (static_cast<uint64_t>(attempt & 0xffffff) << 8) | tag;
  }

  bool Watch(int fd, uint32_t events, uint32_t tag, uint32_t id, uint32_t attempt = 0) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = Tag(id, attempt, tag);
    return epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0;
  }

  void CloseFds() {
    if (epfd_ >= 0) ::close(epfd_);
    if (timerfd_ >= 0) ::close(timerfd_);
    if (kickfd_ >= 0) ::close(kickfd_);
    epfd_ = timerfd_ = kickfd_ = -1;
    free(scratch_);
    scratch_ = nullptr;
  }

  // Closes everything without calling JS: every connection, listener and pooled pipe, the engine's fds
  // and the poll handle. Idempotent.
  void Shutdown() {
    if (closed_) return;
    closed_ = true;
    for (uint32_t i = 0; i < slots_.size; i++) {
      Conn* c = slots_[i];
      if (c == nullptr) continue;
      FreeConn(c);
      delete c;
      slots_[i] = nullptr;
    }
    open_ = 0;
    for (uint32_t i = 0; i < graveyard_.size; i++) delete graveyard_[i];
    graveyard_.size = 0;
    for (uint32_t i = 0; i < listeners_.size; i++) ::close(listeners_[i].fd);
    listeners_.size = 0;
    for (uint32_t i = 0; i < pipes_.size; i++) {
      ::close(pipes_[i].r);
      ::close(pipes_[i].w);
    }
    pipes_.size = 0;
    deferred_.size = 0;
    events_.size = 0;
    buffered_ = 0;
    if (handle_ != nullptr) {
      uv_poll_stop(&handle_->poll);
      uv_close(reinterpret_cast<uv_handle_t*>(&handle_->poll),
               [](uv_handle_t* h) { delete reinterpret_cast<PollHandle*>(h); });
      handle_ = nullptr;
    }
    CloseFds();
  }

  // Keeps the event loop (and this object) alive while there is a listener or a connection, as Node's
  // own servers and sockets do.
  void UpdateRef() {
    bool want = !closed_ && (listeners_.size > 0 || open_ > 0);
    if (want == referenced_) return;
    referenced_ = want;
    if (handle_ != nullptr) {
      if (want)
        uv_ref(reinterpret_cast<uv_handle_t*>(&handle_->poll));
      else
        uv_unref(reinterpret_cast<uv_handle_t*>(&handle_->poll));
    }
    if (want)
      Ref();
    else
      Unref();
  }

  void Kick() {
    if (kicked_ || kickfd_ < 0) return;
    kicked_ = true;
    uint64_t one = 1;
    ssize_t n = write(kickfd_, &one, sizeof one);
    (void)n;
  }

  void Queue(const Event& e) {
    if (!events_.push(e)) return;  // out of memory: the event is lost, the connection still ends
    if (!inRound_ && !flushing_) Kick();  // an event from a call outside a round: deliver it next round
  }

  // --- the round ----------------------------------------------------------------------------------------

  static void OnPoll(uv_poll_t* poll, int status, int /*events*/) {
    auto* self = static_cast<RelayEngine*>(poll->data);
    if (status < 0) return;  // the epoll fd cannot fail; nothing to report
    Napi::Env env(self->env_);
    Napi::HandleScope scope(env);
    try {
      self->Round();
    } catch (const Napi::Error& e) {
      self->flushing_ = false;
      self->inRound_ = false;
      napi_fatal_exception(env, e.Value());
    }
  }

  void Round() {
    if (closed_) return;
    inRound_ = true;
    now_ = static_cast<int64_t>(uv_now(loop_));
    if (kicked_) {
      uint64_t v;
      ssize_t n = read(kickfd_, &v, sizeof v);
      (void)n;
      kicked_ = false;
    }
    if (deferred_.size > 0) {
      Vec<uint32_t> ids;
      ids.swap(deferred_);
      for (uint32_t i = 0; i < ids.size; i++) {
        Conn* c = Find(ids[i]);
        if (c == nullptr) continue;
        c->deferred = false;
        Service(c);
      }
    }
    epoll_event evs[kEventsPerRound];
    int n = epoll_wait(epfd_, evs, kEventsPerRound, 0);
    for (int i = 0; i < n && !closed_; i++) Dispatch(evs[i]);
    inRound_ = false;
    for (uint32_t i = 0; i < graveyard_.size; i++) delete graveyard_[i];
    graveyard_.size = 0;
    Flush();
    UpdateRef();
  }

  void Dispatch(const epoll_event& ev) {
    uint64_t d = ev.data.u64;
    uint32_t tag = d & 0xff;
    uint32_t attempt = (d >> 8) & 0xffffff;
    uint32_t id = static_cast<uint32_t>(d >> 32);
    uint32_t e = ev.events;
    switch (tag) {
      case kTagListener: {
        Listener* l = FindListener(id);
        if (l != nullptr) Accept(*l);
        return;
      }
      case kTagTimer:
        Sweep();
        return;
      case kTagKick:
        // consumed at the start of a round only: a kick written during this round (work deferred in it)
        // must stay pending, so that the next turn of the loop comes back for that work
        return;
      default:
        break;
    }
    Conn* c = Find(id);
    if (c == nullptr) return;
    bool isNode = tag == kTagNode;
    if (isNode && (attempt != (c->attempt & 0xffffff) || c->node.fd < 0)) return;  // an earlier node socket
    Side& s = isNode ? c->node : c->client;
    if (isNode && c->state == State::Connecting) {
      if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP)) FinishConnect(c, e);
      return;
    }
    if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) s.readable = true;
    if (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) s.hup = true;
    if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) s.writable = true;
    if (c->state != State::Established) {
      // a client waiting for its node: only an error or a reset ends it now (a FIN is kept for later)
      if (e & (EPOLLERR | EPOLLHUP)) {
        int err = SocketError(s.fd);
        Fail(c, err != 0 ? err : ECONNRESET, kSideClient);
      }
      return;
    }
    Service(c);
    if (!c->closed && (e & EPOLLERR)) {
      // what could be read and written was; an error left on a side that waits ends the connection
      int err = SocketError(s.fd);
      if (err != 0) Fail(c, err, isNode ? kSideNode : kSideClient);
    }
  }

  static int SocketError(int fd) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
    return err;
  }

  // `s` could not take everything: make sure an EPOLLOUT edge will say when it can (the client side is
  // registered for it lazily). False when epoll_ctl fails (the connection then fails).
  bool WatchWritable(Conn* c, Side& s) {
    if (s.outWatched) return true;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = Tag(c->id, 0, kTagClient);
    if (epoll_ctl(epfd_, EPOLL_CTL_MOD, s.fd, &ev) != 0) return false;
    s.outWatched = true;
    // the socket may have drained between the failed write and now: the MOD reports a writable socket
    // at once (epoll checks readiness on MOD), so no edge is lost
    return true;
  }

  Conn* Find(uint32_t id) {
    uint32_t slot = id & kSlotMask;
    if (slot >= slots_.size) return nullptr;
    Conn* c = slots_[slot];
    return c != nullptr && c->id == id ? c : nullptr;
  }

  Listener* FindListener(uint32_t id) {
    for (uint32_t i = 0; i < listeners_.size; i++)
      if (listeners_[i].id == id) return &listeners_[i];
    return nullptr;
  }

  // Takes a free slot for a new connection; 0 when none is left (2^20 connections open).
  uint32_t NewConnId(Conn* c) {
    uint32_t slot;
    if (freeSlots_.size > 0) {
      slot = freeSlots_[--freeSlots_.size];
    } else {
      if (slots_.size > kSlotMask) return 0;
      if (!slots_.push(nullptr) || !generations_.push(0)) return 0;
      slot = slots_.size - 1;
    }
    uint16_t gen = static_cast<uint16_t>((generations_[slot] + 1) & 0xfff);
    if (gen == 0) gen = 1;  // an id is never 0
    generations_[slot] = gen;
    slots_[slot] = c;
    c->id = slot | (static_cast<uint32_t>(gen) << kSlotBits);
    open_++;
    return c->id;
  }

  void FreeSlot(uint32_t id) {
    uint32_t slot = id & kSlotMask;
    if (slot < slots_.size && slots_[slot] != nullptr && slots_[slot]->id == id) {
      slots_[slot] = nullptr;
      open_--;
      if (!freeSlots_.push(slot)) {
        // out of memory: the slot is not reused
      }
    }
  }

  // --- accepting ----------------------------------------------------------------------------------------

  void Accept(Listener& l) {
    for (int i = 0; i < kAcceptsPerTurn; i++) {
      Event ev;
      socklen_t len = sizeof ev.peer;
      int fd = accept4(l.fd, reinterpret_cast<sockaddr*>(&ev.peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        // EMFILE, ENFILE, ENOBUFS, ENOMEM: pause this listener for 100 ms (level-triggered, it would spin)
        ev.type = kEvAcceptError;
        ev.listener = l.id;
        ev.err = errno;
        Queue(ev);
        epoll_event pause{};
        pause.data.u64 = Tag(l.id, 0, kTagListener);
        epoll_ctl(epfd_, EPOLL_CTL_MOD, l.fd, &pause);
        l.paused = true;
        l.resumeAt = now_ + 100;
        ArmTimer(25);
        return;
      }
      // TCP_NODELAY: set on the listener, which Linux copies to every accepted socket
      Conn* c = new (std::nothrow) Conn();
      uint32_t id = c == nullptr ? 0 : NewConnId(c);
      // no EPOLLOUT yet: a new socket is writable, and its first edge would only cost a wake-up; it is added
      // the first time a write to the client falls short (WatchWritable)
      if (id == 0 || !Watch(fd, EPOLLIN | EPOLLRDHUP | EPOLLET, kTagClient, id)) {
        if (id != 0) FreeSlot(id);
        delete c;
        ::close(fd);
        continue;
      }
      c->listener = l.id;
      c->client.fd = fd;
      c->client.writable = true;
      c->client.outWatched = false;
      c->lastActive = now_;
      ev.type = kEvAccepted;
      ev.conn = id;
      ev.listener = l.id;
      if (l.wildcard) {
        socklen_t llen = sizeof ev.local;
        if (getsockname(fd, reinterpret_cast<sockaddr*>(&ev.local), &llen) != 0) ev.local = l.local;
      } else {
        ev.local = l.local;
      }
      Queue(ev);
    }
  }


  // --- connecting ---------------------------------------------------------------------------------------

  void FinishConnect(Conn* c, uint32_t e) {
    // writable without an error is a completed connect; only a failure needs SO_ERROR for its errno
    int err = 0;
    if (e & (EPOLLERR | EPOLLHUP)) {
      err = SocketError(c->node.fd);
      if (err == 0) err = ECONNREFUSED;
    }
    if (err != 0) {
      ConnectFailed(c, err, false);
      return;
    }
    c->state = State::Established;
    c->deadline = 0;
    c->node.writable = true;
    if (e & (EPOLLIN | EPOLLRDHUP)) c->node.readable = true;
    if (e & EPOLLRDHUP) c->node.hup = true;
    c->lastActive = now_;
    Event ev;
    ev.type = kEvConnected;
    ev.conn = c->id;
    Queue(ev);
    Service(c);
  }

  void ConnectFailed(Conn* c, int err, bool timedOut) {
    ::close(c->node.fd);
    c->node = Side{};
    c->state = State::Accepted;
    c->deadline = 0;
    buffered_ -= c->up.pending();  // the PROXY header meant for that node
    c->up.off = c->up.len = 0;
    Event ev;
    ev.type = kEvConnectFailed;
    ev.conn = c->id;
    ev.err = err;
    ev.timedOut = timedOut ? 1 : 0;
    Queue(ev);
  }

  // --- moving bytes -------------------------------------------------------------------------------------

  enum class Step { Wait, Again, Failed };

  void Service(Conn* c) {
    if (c->closed || c->state != State::Established) return;
    Step a = Pump(c, c->up, c->client, c->node, kSideClient, kSideNode, c->down.done);
    if (c->closed) return;
    Step b = Pump(c, c->down, c->node, c->client, kSideNode, kSideClient, c->up.done);
    if (c->closed) return;
    if (c->up.done && c->down.done) {
      Close(c, kReasonEnd, kSideNone, 0);
      return;
    }
    if ((a == Step::Again || b == Step::Again) && !c->deferred && deferred_.push(c->id)) {
      c->deferred = true;
      Kick();
    }
  }

  // Moves bytes from `from` to `to` until one of them has to wait. `reverseDone`: the other direction has
  // ended (its FIN went on), so once this one ends too the connection is closed at once, and close() sends
  // this direction's FIN without a shutdown() first.
  Step Pump(Conn* c, Dir& d, Side& from, Side& to, uint8_t fromSide, uint8_t toSide, bool reverseDone) {
    int budget = kReadsPerTurn;
    for (;;) {
      uint32_t pending = d.pending();
      if (pending > 0) {
        if (!to.writable) return Step::Wait;
        ssize_t n = d.splicing()
                        ? splice(d.pipe.r, nullptr, to.fd, nullptr, pending, SPLICE_F_MOVE | SPLICE_F_NONBLOCK)
                        : send(to.fd, d.buf + d.off, pending, MSG_NOSIGNAL);
        if (n < 0) {
          if (errno == EINTR) continue;
          if (errno == EAGAIN || errno == EWOULDBLOCK) {
            to.writable = false;
            if (!WatchWritable(c, to)) {
              Fail(c, errno, toSide);
              return Step::Failed;
            }
            return Step::Wait;
          }
          Fail(c, errno, toSide);
          return Step::Failed;
        }
        buffered_ -= static_cast<uint64_t>(n);
        // a short send(): the socket's send buffer is full and EPOLLOUT follows when it drains (for splice the
        // next call says EAGAIN instead, to be sure)
        if (!d.splicing() && static_cast<uint32_t>(n) < pending) {
          to.writable = false;
          if (!WatchWritable(c, to)) {
            Fail(c, errno, toSide);
            return Step::Failed;
          }
        }
        if (d.splicing()) {
          d.piped -= static_cast<uint32_t>(n);
        } else {
          d.off += static_cast<uint32_t>(n);
          if (d.off == d.len) d.off = d.len = 0;
        }
        continue;
      }
      if (from.eof) {
        if (!d.done) {
          d.done = true;
          if (!reverseDone) ::shutdown(to.fd, SHUT_WR);
        }
        return Step::Wait;
      }
      if (!from.readable) return Step::Wait;
      if (budget-- <= 0) return Step::Again;
      if (d.wantSplice && !d.splicing()) StartSplice(d);
      ssize_t n;
      if (d.splicing()) {
        n = splice(from.fd, nullptr, d.pipe.w, nullptr, static_cast<size_t>(d.pipe.capacity),
                   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n < 0 && (errno == EINVAL || errno == ENOSYS)) {
          StopSplice(d);  // the pipe is empty here (pending was 0)
          d.noSplice = true;
          continue;
        }
      } else {
        n = recv(from.fd, scratch_, kChunk, 0);
        // A short read took everything the socket held. With edge-triggered epoll, bytes (or a FIN) arriving
        // from now on raise a new event, so there is no need for a read that only says EAGAIN; unless a
        // FIN was already signalled (its event is spent): then read on until 0.
        if (n > 0 && static_cast<size_t>(n) < kChunk && !from.hup) from.readable = false;
      }
      if (n == 0) {
        from.eof = true;
        continue;
      }
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          from.readable = false;
          return Step::Wait;
        }
        Fail(c, errno, fromSide);
        return Step::Failed;
      }
      d.bytes += static_cast<uint64_t>(n);
      c->lastActive = now_;
      if (d.splicing()) {
        d.piped += static_cast<uint32_t>(n);
        buffered_ += static_cast<uint64_t>(n);
        continue;
      }
      ssize_t m = 0;
      if (to.writable) {
        m = send(to.fd, scratch_, static_cast<size_t>(n), MSG_NOSIGNAL);
        if (m < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            if (errno != EINTR) to.writable = false;
            m = 0;
          } else {
            Fail(c, errno, toSide);
            return Step::Failed;
          }
        } else if (m < n) {
          to.writable = false;  // a short write: its send buffer is full, EPOLLOUT follows when it drains
        }
        if (!to.writable && !WatchWritable(c, to)) {
          Fail(c, errno, toSide);
          return Step::Failed;
        }
      }
      if (m < n) {
        if (d.buf == nullptr) {
          d.buf = static_cast<char*>(malloc(kChunk));
          if (d.buf == nullptr) {
            Fail(c, ENOMEM, toSide);
            return Step::Failed;
          }
        }
        memcpy(d.buf, scratch_ + m, static_cast<size_t>(n - m));
        d.off = 0;
        d.len = static_cast<uint32_t>(n - m);
        buffered_ += d.len;
      }
      if (n >= kBulk && !d.noSplice) d.wantSplice = true;
    }
  }

  void StartSplice(Dir& d) {
    d.wantSplice = false;
    if (pipes_.size > 0) {
      d.pipe = pipes_[--pipes_.size];
      return;
    }
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
      d.noSplice = true;  // out of fds or pipe memory: read/write it is
      return;
    }
    fcntl(fds[1], F_SETPIPE_SZ, kPipeSize);  // refused beyond the user's pipe limits: 64 KiB then
    int capacity = fcntl(fds[1], F_GETPIPE_SZ);
    d.pipe = Pipe{fds[0], fds[1], capacity > 0 ? capacity : 65536};
  }

  // Returns an empty pipe to the pool, or closes one that still holds bytes (or when the pool is full).
  void StopSplice(Dir& d) {
    if (!d.splicing()) return;
    if (d.piped == 0 && pipes_.size < kPipePool && !closed_ && pipes_.push(d.pipe)) {
      // kept for the next bulk direction
    } else {
      ::close(d.pipe.r);
      ::close(d.pipe.w);
    }
    d.pipe = Pipe{};
    d.piped = 0;
  }

  // --- closing ------------------------------------------------------------------------------------------

  void Fail(Conn* c, int err, uint8_t side) { Close(c, kReasonError, side, err); }

  void Close(Conn* c, uint8_t reason, uint8_t side, int err, bool report = true) {
    if (c->closed) return;
    Event ev;
    ev.type = kEvClosed;
    ev.conn = c->id;
    ev.reason = reason;
    ev.side = side;
    ev.err = err;
    ev.toNode = c->up.bytes;
    ev.toClient = c->down.bytes;
    Release(c);
    if (report) Queue(ev);
  }

  // Closes the connection's sockets and pipes and forgets it (the object is freed after the round).
  void Release(Conn* c) {
    FreeSlot(c->id);
    FreeConn(c);
    // Outside a round nothing points at it any more. Inside one, the caller still holds the pointer (and
    // checks `closed`), so it is freed after the round. (If even that push fails, it is leaked.)
    if (!inRound_)
      delete c;
    else if (!graveyard_.push(c)) {
      // out of memory
    }
  }

  void FreeConn(Conn* c) {
    if (c->client.fd >= 0) ::close(c->client.fd);
    if (c->node.fd >= 0) ::close(c->node.fd);
    c->client.fd = c->node.fd = -1;
    for (Dir* d : {&c->up, &c->down}) {
      buffered_ -= d->pending();
      if (d->splicing()) StopSplice(*d);
      free(d->buf);
      d->buf = nullptr;
      d->off = d->len = 0;
    }
    c->closed = true;
  }

  // --- timeouts -----------------------------------------------------------------------------------------

  // Runs the sweep every `ms / 4` (10 ms .. 1 s) while connections exist.
  void NoteTimeout(uint32_t ms) {
    if (ms == 0) return;
    uint32_t interval = ms / 4;
    if (interval < 10) interval = 10;
    if (interval > 1000) interval = 1000;
    ArmTimer(interval);
  }

  void ArmTimer(uint32_t interval) {
    if (timerArmed_ && interval >= timerInterval_) return;
    itimerspec spec{};
    spec.it_interval.tv_sec = interval / 1000;
    spec.it_interval.tv_nsec = static_cast<long>(interval % 1000) * 1000000L;
    spec.it_value = spec.it_interval;
    if (timerfd_settime(timerfd_, 0, &spec, nullptr) == 0) {
      timerArmed_ = true;
      timerInterval_ = interval;
    }
  }

  void DisarmTimer() {
    itimerspec spec{};
    timerfd_settime(timerfd_, 0, &spec, nullptr);
    timerArmed_ = false;
    timerInterval_ = 0;
  }

  void Sweep() {
    uint64_t expirations;
    ssize_t r = read(timerfd_, &expirations, sizeof expirations);
    (void)r;
    uv_update_time(loop_);
    now_ = static_cast<int64_t>(uv_now(loop_));
    bool pausedListener = false;
    for (uint32_t i = 0; i < listeners_.size; i++) {
      Listener& l = listeners_[i];
      if (!l.paused) continue;
      if (now_ < l.resumeAt) {
        pausedListener = true;
        continue;
      }
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = Tag(l.id, 0, kTagListener);
      epoll_ctl(epfd_, EPOLL_CTL_MOD, l.fd, &ev);
      l.paused = false;
    }
    for (uint32_t i = 0; i < slots_.size; i++) {
      Conn* c = slots_[i];
      if (c == nullptr) continue;
      if (c->state == State::Connecting && c->deadline != 0 && now_ >= c->deadline)
        ConnectFailed(c, ETIMEDOUT, true);
      else if (c->state == State::Established && c->idleMs != 0 && now_ - c->lastActive >= c->idleMs)
        Close(c, kReasonIdle, kSideNone, 0);
    }
    if (open_ == 0 && !pausedListener) DisarmTimer();
  }

  // --- delivering events to JS --------------------------------------------------------------------------

  void Flush() {
    Napi::Env env(env_);
    while (events_.size > 0 && !closed_) {
      Vec<Event> batch;
      batch.swap(events_);
      Napi::HandleScope scope(env);
      Napi::Array out = Napi::Array::New(env);
      uint32_t k = 0;
      char text[INET6_ADDRSTRLEN];
      int port = 0;
      for (uint32_t i = 0; i < batch.size; i++) {
        const Event& e = batch[i];
        out.Set(k++, Napi::Number::New(env, e.type));
        switch (e.type) {
          case kEvAccepted:
            out.Set(k++, Napi::Number::New(env, e.conn));
            out.Set(k++, Napi::Number::New(env, e.listener));
            AddressText(e.peer, text, sizeof text, &port);
            out.Set(k++, Napi::String::New(env, text));
            out.Set(k++, Napi::Number::New(env, port));
            AddressText(e.local, text, sizeof text, &port);
            out.Set(k++, Napi::String::New(env, text));
            out.Set(k++, Napi::Number::New(env, port));
            break;
          case kEvConnected:
            out.Set(k++, Napi::Number::New(env, e.conn));
            break;
          case kEvConnectFailed:
            out.Set(k++, Napi::Number::New(env, e.conn));
            out.Set(k++, Napi::String::New(env, uv_err_name(-e.err)));
            out.Set(k++, Napi::Number::New(env, e.timedOut));
            break;
          case kEvClosed:
            out.Set(k++, Napi::Number::New(env, e.conn));
            out.Set(k++, Napi::Number::New(env, e.reason));
            out.Set(k++, Napi::Number::New(env, e.side));
            out.Set(k++, Napi::String::New(env, e.err != 0 ? uv_err_name(-e.err) : ""));
            out.Set(k++, Napi::Number::New(env, static_cast<double>(e.toNode)));
            out.Set(k++, Napi::Number::New(env, static_cast<double>(e.toClient)));
            break;
          case kEvAcceptError:
            out.Set(k++, Napi::Number::New(env, e.listener));
            out.Set(k++, Napi::String::New(env, uv_err_name(-e.err)));
            break;
          default:
            break;
        }
      }
      flushing_ = true;
      onEvents_.MakeCallback(Value(), {out}, *context_);
      flushing_ = false;
    }
    if (closed_) events_.size = 0;
  }

  // --- the JS API ---------------------------------------------------------------------------------------

  // listen(host, port, backlog) -> [listenerId, boundPort]
  Napi::Value Listen(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (info.Length() < 3 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber())
      throw ArgError(env, "listen(host, port, backlog)");
    std::string host = info[0].As<Napi::String>().Utf8Value();
    int port = info[1].As<Napi::Number>().Int32Value();
    int backlog = info[2].As<Napi::Number>().Int32Value();
    if (port < 0 || port > 65535) throw ArgError(env, "port out of range");
    sockaddr_storage addr;
    socklen_t len;
    if (!ParseAddress(host, port, &addr, &len)) throw ArgError(env, "not an IP address: " + host);
    int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw SysError(env, errno, "socket");
    int on = 1;
    const char* failed = nullptr;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) failed = "setsockopt";
    if (!failed && addr.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0)
      failed = "setsockopt";
    // Nagle would hold back a small write behind an unacknowledged one; the relay writes what it reads at
    // once. Accepted sockets inherit the option (the kernel clones the listener's socket), so one call here
    // saves one per client.
    if (!failed && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) != 0) failed = "setsockopt";
    if (!failed && bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) failed = "bind";
    if (!failed && listen(fd, backlog) != 0) failed = "listen";
    Listener l;
    socklen_t llen = sizeof l.local;
    if (!failed && getsockname(fd, reinterpret_cast<sockaddr*>(&l.local), &llen) != 0) failed = "getsockname";
    l.id = nextListener_++;
    if (!failed && !Watch(fd, EPOLLIN, kTagListener, l.id)) failed = "epoll_ctl";
    if (failed) {
      int err = errno;
      ::close(fd);
      throw SysError(env, err, failed);
    }
    l.fd = fd;
    if (addr.ss_family == AF_INET)
      l.wildcard = reinterpret_cast<sockaddr_in*>(&addr)->sin_addr.s_addr == htonl(INADDR_ANY);
    else
      l.wildcard = IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<sockaddr_in6*>(&addr)->sin6_addr);
    int bound = 0;
    char text[INET6_ADDRSTRLEN];
    AddressText(l.local, text, sizeof text, &bound);
    uint32_t id = l.id;
    if (!listeners_.push(l)) {
      ::close(fd);
      throw SysError(env, ENOMEM, "listen");
    }
    UpdateRef();
    Napi::Array out = Napi::Array::New(env, 2);
    out.Set(0u, Napi::Number::New(env, id));
    out.Set(1u, Napi::Number::New(env, bound));
    return out;
  }

  // closeListener(id) -> whether it was open
  Napi::Value CloseListenerJs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_) return Napi::Boolean::New(env, false);
    uint32_t id = info[0].As<Napi::Number>().Uint32Value();
    Listener* l = FindListener(id);
    if (l == nullptr) return Napi::Boolean::New(env, false);
    ::close(l->fd);
    *l = listeners_[--listeners_.size];
    UpdateRef();
    return Napi::Boolean::New(env, true);
  }

  // connect(conn, host, port, header | undefined, connectTimeoutMs, idleTimeoutMs) -> false when the
  // connection is gone (the client left: its closed event is on its way). A failure to start the connect
  // (EADDRNOTAVAIL, EMFILE, ...) is reported as a connect-failed event, like a refusal.
  Napi::Value Connect(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (info.Length() < 6 || !info[0].IsNumber() || !info[1].IsString() || !info[2].IsNumber() ||
        !info[4].IsNumber() || !info[5].IsNumber())
      throw ArgError(env, "connect(conn, host, port, header, connectTimeoutMs, idleTimeoutMs)");
    uint32_t id = info[0].As<Napi::Number>().Uint32Value();
    std::string host = info[1].As<Napi::String>().Utf8Value();
    int port = info[2].As<Napi::Number>().Int32Value();
    if (port <= 0 || port > 65535) throw ArgError(env, "port out of range");
    sockaddr_storage addr;
    socklen_t len;
    if (!ParseAddress(host, port, &addr, &len)) throw ArgError(env, "not an IP address: " + host);
    const uint8_t* header = nullptr;
    size_t headerLen = 0;
    if (info[3].IsTypedArray()) {
      Napi::Uint8Array h = info[3].As<Napi::Uint8Array>();
      header = h.Data();
      headerLen = h.ByteLength();
      if (headerLen > kChunk) throw ArgError(env, "header longer than 64 KiB");
    } else if (!info[3].IsUndefined()) {
      throw ArgError(env, "header must be a Uint8Array or undefined");
    }
    uint32_t connectTimeout = info[4].As<Napi::Number>().Uint32Value();
    uint32_t idle = info[5].As<Napi::Number>().Uint32Value();
    Conn* c = Find(id);
    if (c == nullptr) return Napi::Boolean::New(env, false);
    if (c->state != State::Accepted) throw ArgError(env, "connect: the connection is already connecting or connected");
    if (!inRound_) now_ = static_cast<int64_t>(uv_now(loop_));
    c->attempt++;
    c->idleMs = idle;
    int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int err = 0;
    if (fd < 0) {
      err = errno;
    } else {
      int on = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 && errno != EINPROGRESS) err = errno;
      if (err == 0 && !Watch(fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, kTagNode, id, c->attempt)) err = errno;
      if (err != 0) ::close(fd);
    }
    if (err != 0) {
      Event ev;
      ev.type = kEvConnectFailed;
      ev.conn = id;
      ev.err = err;
      Queue(ev);
      return Napi::Boolean::New(env, true);
    }
    c->node = Side{};
    c->node.fd = fd;
    c->state = State::Connecting;
    c->deadline = connectTimeout != 0 ? now_ + connectTimeout : 0;
    if (headerLen > 0) {
      if (c->up.buf == nullptr) c->up.buf = static_cast<char*>(malloc(kChunk));
      if (c->up.buf == nullptr) throw SysError(env, ENOMEM, "malloc");
      memcpy(c->up.buf, header, headerLen);
      c->up.off = 0;
      c->up.len = static_cast<uint32_t>(headerLen);
      buffered_ += headerLen;
    }
    NoteTimeout(connectTimeout);
    NoteTimeout(idle);
    return Napi::Boolean::New(env, true);
  }

  // reject(conn): closes a client that gets no node; no event follows. -> whether it was open
  Napi::Value Reject(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_) return Napi::Boolean::New(env, false);
    Conn* c = Find(info[0].As<Napi::Number>().Uint32Value());
    if (c == nullptr) return Napi::Boolean::New(env, false);
    Close(c, kReasonEnd, kSideNone, 0, false);
    UpdateRef();
    return Napi::Boolean::New(env, true);
  }

  // destroy(conn) -> [bytes to node, bytes to client], or undefined when it is not open. No event follows.
  Napi::Value Destroy(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_) return env.Undefined();
    Conn* c = Find(info[0].As<Napi::Number>().Uint32Value());
    if (c == nullptr) return env.Undefined();
    Napi::Array out = Napi::Array::New(env, 2);
    out.Set(0u, Napi::Number::New(env, static_cast<double>(c->up.bytes)));
    out.Set(1u, Napi::Number::New(env, static_cast<double>(c->down.bytes)));
    Close(c, kReasonEnd, kSideNone, 0, false);
    UpdateRef();
    return out;
  }

  // stats() -> [connections, listeners, bytes held (buffers and pipes), pipes in the pool, splicing directions]
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t splicing = 0;
    for (uint32_t i = 0; i < slots_.size; i++) {
      Conn* c = slots_[i];
      if (c != nullptr) splicing += (c->up.splicing() ? 1 : 0) + (c->down.splicing() ? 1 : 0);
    }
    Napi::Array out = Napi::Array::New(env, 5);
    out.Set(0u, Napi::Number::New(env, open_));
    out.Set(1u, Napi::Number::New(env, listeners_.size));
    out.Set(2u, Napi::Number::New(env, static_cast<double>(buffered_)));
    out.Set(3u, Napi::Number::New(env, pipes_.size));
    out.Set(4u, Napi::Number::New(env, splicing));
    return out;
  }

  // bytes() -> [conn, bytes to node, bytes to client, ...] of every established connection
  Napi::Value Bytes(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env);
    uint32_t k = 0;
    for (uint32_t i = 0; i < slots_.size; i++) {
      Conn* c = slots_[i];
      if (c == nullptr || c->state != State::Established) continue;
      out.Set(k++, Napi::Number::New(env, c->id));
      out.Set(k++, Napi::Number::New(env, static_cast<double>(c->up.bytes)));
      out.Set(k++, Napi::Number::New(env, static_cast<double>(c->down.bytes)));
    }
    return out;
  }

  // close(): closes every connection and listener at once (no events) and the engine itself.
  Napi::Value CloseJs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    bool wasReferenced = referenced_;
    Shutdown();
    if (wasReferenced) {
      referenced_ = false;
      Unref();
    }
    return env.Undefined();
  }
};

}  // namespace netio_relay

// Called from netio.cc's module initialisation.
Napi::Function InitRelayEngine(Napi::Env env) { return netio_relay::RelayEngine::Init(env); }

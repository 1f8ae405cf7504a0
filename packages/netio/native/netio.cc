// @proxyha/netio native addon: a thin, non-blocking socket layer for Linux.
//
// One class, Socket, wraps a single non-blocking file descriptor of one of four
// kinds (raw IPv4, raw IPv6, AF_PACKET, NETLINK_ROUTE) and integrates it with the
// libuv event loop through one uv_poll_t. All policy (argument validation, option
// defaults, IPv4 header parsing, netlink message parsing, send queues, typed
// errors) lives in TypeScript; this file only performs system calls and reports
// errno values as JS errors with { code: 'EPERM', errno: 1, syscall: 'socket' }.
//
// Receive batches: when the fd is readable, up to kBatch datagrams are read with
// recvmsg() and handed to JS in one call as an array of tuples:
//   raw IPv4:  [data incl. IPv4 header, ifindex (IP_PKTINFO), receive time ms (SCM_TIMESTAMPNS)]
//   raw IPv6:  [payload, source, destination (IPV6_PKTINFO), ifindex, hop limit (IPV6_HOPLIMIT),
//               receive time ms (SCM_TIMESTAMPNS)]
//   packet:    [frame incl. Ethernet header, ifindex, pkttype]
//   netlink:   [message bytes]

#include <napi.h>
#include <uv.h>

#include "napi-errors.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

// native/relay.cc: the TCP relay engine (class RelayEngine).
Napi::Function InitRelayEngine(Napi::Env env);

namespace {

constexpr int kKindIp4 = 4;
constexpr int kKindIp6 = 6;
constexpr int kKindNetlink = 16;
constexpr int kKindPacket = 17;
constexpr int kBatch = 64;
constexpr size_t kRecvBufferSize = 65536 + 64;

thread_local unsigned char recvBuffer[kRecvBufferSize];

using netio_errors::ArgError;
using netio_errors::SysError;

struct PollHandle {
  uv_poll_t poll;
};

class Socket : public Napi::ObjectWrap<Socket> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Socket",
                       {
                           InstanceMethod("setInt", &Socket::SetInt),
                           InstanceMethod("getInt", &Socket::GetInt),
                           InstanceMethod("bindDevice", &Socket::BindDevice),
                           InstanceMethod("membership", &Socket::Membership),
                           InstanceMethod("multicastInterface", &Socket::MulticastInterface),
                           InstanceMethod("bindPacket", &Socket::BindPacket),
                           InstanceMethod("bindNetlink", &Socket::BindNetlink),
                           InstanceMethod("send", &Socket::Send),
                           InstanceMethod("startReading", &Socket::StartReading),
                           InstanceMethod("stopReading", &Socket::StopReading),
                           InstanceMethod("awaitWritable", &Socket::AwaitWritable),
                           InstanceMethod("close", &Socket::Close),
                       });
  }

  explicit Socket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Socket>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
      throw ArgError(env, "Socket(kind, protocol) expects two numbers");
    }
    kind_ = info[0].As<Napi::Number>().Int32Value();
    int protocol = info[1].As<Napi::Number>().Int32Value();
    int domain;
    switch (kind_) {
      case kKindIp4: domain = AF_INET; break;
      case kKindIp6: domain = AF_INET6; break;
      case kKindPacket: domain = AF_PACKET; protocol = 0; break;  // receives nothing until bindPacket
      case kKindNetlink: domain = AF_NETLINK; break;
      default: throw ArgError(env, "unknown socket kind");
    }
    int fd = socket(domain, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd < 0) throw SysError(env, errno, "socket");
    int on = 1;
    int rc = 0;
    if (kind_ == kKindIp4) {
      rc = setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
    } else if (kind_ == kKindIp6) {
      rc = setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on);
      if (rc == 0) rc = setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof on);
    }
    // kernel receive time of each datagram (CLOCK_REALTIME, ns), for protocol timers
    if (rc == 0 && (kind_ == kKindIp4 || kind_ == kKindIp6))
      rc = setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    if (rc != 0) {
      int err = errno;
      ::close(fd);
      throw SysError(env, err, "setsockopt");
    }
    fd_ = fd;
    context_ = std::make_unique<Napi::AsyncContext>(env, "proxyha:netio");
  }

  ~Socket() override { Release(); }

 private:
  int fd_ = -1;
  int kind_ = 0;
  PollHandle* handle_ = nullptr;
  int events_ = 0;
  bool pinned_ = false;
  Napi::FunctionReference onRead_;
  Napi::FunctionReference onWritable_;
  Napi::FunctionReference onError_;
  std::unique_ptr<Napi::AsyncContext> context_;

  void CheckOpen(Napi::Env env) {
    if (fd_ < 0) throw SysError(env, EBADF, "closed");
  }

  // Stops polling, frees the poll handle (asynchronously, as libuv requires) and
  // closes the fd. Safe to call more than once; makes no JS calls.
  void Release() {
    if (handle_ != nullptr) {
      uv_poll_stop(&handle_->poll);
      uv_close(reinterpret_cast<uv_handle_t*>(&handle_->poll),
               [](uv_handle_t* h) { delete reinterpret_cast<PollHandle*>(h); });
      handle_ = nullptr;
    }
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
    events_ = 0;
  }

  void UpdatePoll(Napi::Env env) {
    if (events_ != 0 && handle_ == nullptr) {
      handle_ = new PollHandle();
      int rc = uv_poll_init(uv_loop(env), &handle_->poll, fd_);
      if (rc != 0) {
        delete handle_;
        handle_ = nullptr;
        events_ = 0;
        throw SysError(env, -rc, "uv_poll_init");
      }
      handle_->poll.data = this;
    }
    if (handle_ == nullptr) return;
    if (events_ == 0) {
      uv_poll_stop(&handle_->poll);
      if (pinned_) {
        pinned_ = false;
        Unref();
      }
      return;
    }
    int rc = uv_poll_start(&handle_->poll, events_, &Socket::OnPoll);
    if (rc != 0) throw SysError(env, -rc, "uv_poll_start");
    if (!pinned_) {  // keep the JS object alive while the loop may call back into it
      pinned_ = true;
      Ref();
    }
  }

  static uv_loop_t* uv_loop(Napi::Env env) {
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    return loop;
  }

  static void OnPoll(uv_poll_t* poll, int status, int events) {
    Socket* self = static_cast<Socket*>(poll->data);
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    try {
      if (status < 0) {
        self->events_ = 0;
        self->UpdatePoll(env);
        if (!self->onError_.IsEmpty()) {
          Napi::Error err = SysError(env, -status, "poll");
          self->onError_.MakeCallback(self->Value(), {err.Value()}, *self->context_);
        }
        return;
      }
      if ((events & UV_WRITABLE) && (self->events_ & UV_WRITABLE)) {
        self->events_ &= ~UV_WRITABLE;
        self->UpdatePoll(env);
        if (!self->onWritable_.IsEmpty()) {
          Napi::Function fn = self->onWritable_.Value();
          self->onWritable_.Reset();
          fn.MakeCallback(self->Value(), {}, *self->context_);
        }
      }
      if (self->fd_ >= 0 && (events & UV_READABLE) && (self->events_ & UV_READABLE)) self->ReadBatch(env);
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env, e.Value());
    }
  }

  void ReadBatch(Napi::Env env) {
    Napi::Array batch = Napi::Array::New(env);
    uint32_t count = 0;
    int readError = 0;
    while (count < kBatch) {
      union {
        sockaddr_in in4;
        sockaddr_in6 in6;
        sockaddr_ll ll;
        sockaddr_nl nl;
      } from;
      alignas(cmsghdr) unsigned char control[256];
      iovec iov{recvBuffer, kRecvBufferSize};
      msghdr msg{};
      msg.msg_name = &from;
      msg.msg_namelen = sizeof from;
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      ssize_t n = recvmsg(fd_, &msg, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) readError = errno;
        break;
      }
      Napi::Array item = Napi::Array::New(env);
      item.Set(0u, Napi::Buffer<unsigned char>::Copy(env, recvBuffer, static_cast<size_t>(n)));
      double receivedAt = 0;  // ms since the epoch, from SCM_TIMESTAMPNS
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
          timespec ts;
          memcpy(&ts, CMSG_DATA(c), sizeof ts);
          receivedAt = static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
        }
      }
      if (kind_ == kKindIp4) {
        int ifindex = 0;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
          if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            in_pktinfo info;
            memcpy(&info, CMSG_DATA(c), sizeof info);
            ifindex = info.ipi_ifindex;
          }
        }
        item.Set(1u, Napi::Number::New(env, ifindex));
        item.Set(2u, Napi::Number::New(env, receivedAt));
      } else if (kind_ == kKindIp6) {
        char src[INET6_ADDRSTRLEN] = "";
        char dst[INET6_ADDRSTRLEN] = "";
        inet_ntop(AF_INET6, &from.in6.sin6_addr, src, sizeof src);
        int ifindex = 0;
        int hops = -1;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
          if (c->cmsg_level != IPPROTO_IPV6) continue;
          if (c->cmsg_type == IPV6_PKTINFO) {
            in6_pktinfo info;
            memcpy(&info, CMSG_DATA(c), sizeof info);
            inet_ntop(AF_INET6, &info.ipi6_addr, dst, sizeof dst);
            ifindex = static_cast<int>(info.ipi6_ifindex);
          } else if (c->cmsg_type == IPV6_HOPLIMIT) {
            memcpy(&hops, CMSG_DATA(c), sizeof hops);
          }
        }
        item.Set(1u, Napi::String::New(env, src));
        item.Set(2u, Napi::String::New(env, dst));
        item.Set(3u, Napi::Number::New(env, ifindex));
        item.Set(4u, Napi::Number::New(env, hops));
        item.Set(5u, Napi::Number::New(env, receivedAt));
      } else if (kind_ == kKindPacket) {
        item.Set(1u, Napi::Number::New(env, from.ll.sll_ifindex));
        item.Set(2u, Napi::Number::New(env, from.ll.sll_pkttype));
      }
      batch.Set(count++, item);
    }
    if (count > 0 && !onRead_.IsEmpty()) {
      onRead_.MakeCallback(Value(), {batch}, *context_);
    }
    if (readError != 0 && fd_ >= 0 && !onError_.IsEmpty()) {
      Napi::Error err = SysError(env, readError, "recvmsg");
      onError_.MakeCallback(Value(), {err.Value()}, *context_);
    }
  }

  // setInt(level, name, value)
  Napi::Value SetInt(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    int level = info[0].As<Napi::Number>().Int32Value();
    int name = info[1].As<Napi::Number>().Int32Value();
    int value = info[2].As<Napi::Number>().Int32Value();
    if (setsockopt(fd_, level, name, &value, sizeof value) != 0) throw SysError(env, errno, "setsockopt");
    return env.Undefined();
  }

  // getInt(level, name) -> number
  Napi::Value GetInt(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    int level = info[0].As<Napi::Number>().Int32Value();
    int name = info[1].As<Napi::Number>().Int32Value();
    int value = 0;
    socklen_t len = sizeof value;
    if (getsockopt(fd_, level, name, &value, &len) != 0) throw SysError(env, errno, "getsockopt");
    // IP_MULTICAST_TTL / IP_MULTICAST_LOOP may be returned as one byte.
    if (len == 1) value = static_cast<unsigned char>(value & 0xff);
    return Napi::Number::New(env, value);
  }

  // bindDevice(name): SO_BINDTODEVICE
  Napi::Value BindDevice(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    std::string name = info[0].As<Napi::String>().Utf8Value();
    if (name.size() >= IFNAMSIZ) throw ArgError(env, "interface name too long");
    if (setsockopt(fd_, SOL_SOCKET, SO_BINDTODEVICE, name.c_str(), static_cast<socklen_t>(name.size() + 1)) != 0) {
      throw SysError(env, errno, "setsockopt(SO_BINDTODEVICE)");
    }
    return env.Undefined();
  }

  // membership(group, ifindex, join): IP_ADD/DROP_MEMBERSHIP (ip_mreqn) or IPV6_JOIN/LEAVE_GROUP
  Napi::Value Membership(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    std::string group = info[0].As<Napi::String>().Utf8Value();
    int ifindex = info[1].As<Napi::Number>().Int32Value();
    bool join = info[2].As<Napi::Boolean>().Value();
    if (kind_ == kKindIp4) {
      ip_mreqn req{};
      if (inet_pton(AF_INET, group.c_str(), &req.imr_multiaddr) != 1) throw ArgError(env, "bad IPv4 group");
      req.imr_ifindex = ifindex;
      if (setsockopt(fd_, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &req, sizeof req) != 0) {
        throw SysError(env, errno, join ? "setsockopt(IP_ADD_MEMBERSHIP)" : "setsockopt(IP_DROP_MEMBERSHIP)");
      }
    } else if (kind_ == kKindIp6) {
      ipv6_mreq req{};
      if (inet_pton(AF_INET6, group.c_str(), &req.ipv6mr_multiaddr) != 1) throw ArgError(env, "bad IPv6 group");
      req.ipv6mr_interface = static_cast<unsigned>(ifindex);
      if (setsockopt(fd_, IPPROTO_IPV6, join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP, &req, sizeof req) != 0) {
        throw SysError(env, errno, join ? "setsockopt(IPV6_JOIN_GROUP)" : "setsockopt(IPV6_LEAVE_GROUP)");
      }
    } else {
      throw ArgError(env, "membership needs an IP socket");
    }
    return env.Undefined();
  }

  // multicastInterface(ifindex): IP_MULTICAST_IF (ip_mreqn) or IPV6_MULTICAST_IF
  Napi::Value MulticastInterface(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    int ifindex = info[0].As<Napi::Number>().Int32Value();
    int rc;
    if (kind_ == kKindIp4) {
      ip_mreqn req{};
      req.imr_ifindex = ifindex;
      rc = setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_IF, &req, sizeof req);
    } else if (kind_ == kKindIp6) {
      rc = setsockopt(fd_, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof ifindex);
    } else {
      throw ArgError(env, "multicastInterface needs an IP socket");
    }
    if (rc != 0) throw SysError(env, errno, "setsockopt(MULTICAST_IF)");
    return env.Undefined();
  }

  // bindPacket(ifindex, etherType): bind an AF_PACKET socket to one interface and EtherType
  Napi::Value BindPacket(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (kind_ != kKindPacket) throw ArgError(env, "bindPacket needs a packet socket");
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_ifindex = info[0].As<Napi::Number>().Int32Value();
    addr.sll_protocol = htons(static_cast<uint16_t>(info[1].As<Napi::Number>().Uint32Value()));
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw SysError(env, errno, "bind");
    return env.Undefined();
  }

  // bindNetlink(groups): bind a NETLINK_ROUTE socket to multicast groups (0 for requests only)
  Napi::Value BindNetlink(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (kind_ != kKindNetlink) throw ArgError(env, "bindNetlink needs a netlink socket");
    sockaddr_nl addr{};
    addr.nl_family = AF_NETLINK;
    addr.nl_groups = info[0].As<Napi::Number>().Uint32Value();
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw SysError(env, errno, "bind");
    return env.Undefined();
  }

  // send(data, destination?, ifindex?, source?) -> bytes sent, or -errno for EAGAIN / ENOBUFS.
  // IP sockets: destination is an address string; a source address is applied per
  // datagram through IP_PKTINFO / IPV6_PKTINFO (bind() would filter received packets
  // by destination). Packet sockets: the frame's own EtherType is used. Netlink: to the kernel.
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (!info[0].IsTypedArray()) throw ArgError(env, "send: data must be a Uint8Array");
    Napi::Uint8Array data = info[0].As<Napi::Uint8Array>();
    iovec iov{data.Data(), data.ByteLength()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    sockaddr_in in4{};
    sockaddr_in6 in6{};
    sockaddr_ll ll{};
    sockaddr_nl nl{};
    alignas(cmsghdr) unsigned char control[CMSG_SPACE(sizeof(in6_pktinfo))] = {};
    int ifindex = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Int32Value() : 0;
    bool haveSource = info.Length() > 3 && info[3].IsString();
    if (kind_ == kKindIp4 || kind_ == kKindIp6) {
      std::string dst = info[1].As<Napi::String>().Utf8Value();
      if (kind_ == kKindIp4) {
        in4.sin_family = AF_INET;
        if (inet_pton(AF_INET, dst.c_str(), &in4.sin_addr) != 1) throw ArgError(env, "bad IPv4 destination");
        msg.msg_name = &in4;
        msg.msg_namelen = sizeof in4;
        if (haveSource) {
          in_pktinfo pi{};
          std::string src = info[3].As<Napi::String>().Utf8Value();
          if (inet_pton(AF_INET, src.c_str(), &pi.ipi_spec_dst) != 1) throw ArgError(env, "bad IPv4 source");
          pi.ipi_ifindex = ifindex;
          msg.msg_control = control;
          msg.msg_controllen = CMSG_SPACE(sizeof pi);
          cmsghdr* c = CMSG_FIRSTHDR(&msg);
          c->cmsg_level = IPPROTO_IP;
          c->cmsg_type = IP_PKTINFO;
          c->cmsg_len = CMSG_LEN(sizeof pi);
          memcpy(CMSG_DATA(c), &pi, sizeof pi);
        }
      } else {
        in6.sin6_family = AF_INET6;
        if (inet_pton(AF_INET6, dst.c_str(), &in6.sin6_addr) != 1) throw ArgError(env, "bad IPv6 destination");
        in6.sin6_scope_id = static_cast<uint32_t>(ifindex);  // used by the kernel only for link-scope addresses
        msg.msg_name = &in6;
        msg.msg_namelen = sizeof in6;
        if (haveSource) {
          in6_pktinfo pi{};
          std::string src = info[3].As<Napi::String>().Utf8Value();
          if (inet_pton(AF_INET6, src.c_str(), &pi.ipi6_addr) != 1) throw ArgError(env, "bad IPv6 source");
          pi.ipi6_ifindex = static_cast<unsigned>(ifindex);
          msg.msg_control = control;
          msg.msg_controllen = CMSG_SPACE(sizeof pi);
          cmsghdr* c = CMSG_FIRSTHDR(&msg);
          c->cmsg_level = IPPROTO_IPV6;
          c->cmsg_type = IPV6_PKTINFO;
          c->cmsg_len = CMSG_LEN(sizeof pi);
          memcpy(CMSG_DATA(c), &pi, sizeof pi);
        }
      }
    } else if (kind_ == kKindPacket) {
      if (data.ByteLength() < 14) throw ArgError(env, "an Ethernet frame has at least 14 bytes");
      ll.sll_family = AF_PACKET;
      ll.sll_ifindex = ifindex;
      memcpy(&ll.sll_protocol, data.Data() + 12, 2);  // already network byte order
      ll.sll_halen = ETH_ALEN;
      memcpy(ll.sll_addr, data.Data(), ETH_ALEN);
      msg.msg_name = &ll;
      msg.msg_namelen = sizeof ll;
    } else {
      nl.nl_family = AF_NETLINK;
      msg.msg_name = &nl;
      msg.msg_namelen = sizeof nl;
    }
    ssize_t n;
    do {
      n = sendmsg(fd_, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return Napi::Number::New(env, -errno);
      throw SysError(env, errno, "sendmsg");
    }
    return Napi::Number::New(env, static_cast<double>(n));
  }

  // startReading(onRead, onError)
  Napi::Value StartReading(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    onRead_ = Napi::Persistent(info[0].As<Napi::Function>());
    onError_ = Napi::Persistent(info[1].As<Napi::Function>());
    events_ |= UV_READABLE;
    UpdatePoll(env);
    return env.Undefined();
  }

  Napi::Value StopReading(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) return env.Undefined();
    events_ &= ~UV_READABLE;
    UpdatePoll(env);
    return env.Undefined();
  }

  // awaitWritable(callback): call back once when the socket can take more data.
  Napi::Value AwaitWritable(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    onWritable_ = Napi::Persistent(info[0].As<Napi::Function>());
    events_ |= UV_WRITABLE;
    UpdatePoll(env);
    return env.Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Release();
    if (pinned_) {
      pinned_ = false;
      Unref();
    }
    onRead_.Reset();
    onWritable_.Reset();
    onError_.Reset();
    return env.Undefined();
  }
};

// nameToIndex(name) -> ifindex, or 0 when no such interface (if_nametoindex).
Napi::Value NameToIndex(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  if (name.size() >= IFNAMSIZ) return Napi::Number::New(env, 0);
  return Napi::Number::New(env, if_nametoindex(name.c_str()));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Socket", Socket::Init(env));
  exports.Set("nameToIndex", Napi::Function::New(env, NameToIndex));
  exports.Set("RelayEngine", InitRelayEngine(env));
  Napi::Object c = Napi::Object::New(env);
  auto set = [&](const char* name, int value) { c.Set(name, Napi::Number::New(env, value)); };
  set("SOL_SOCKET", SOL_SOCKET);
  set("SO_BROADCAST", SO_BROADCAST);
  set("SO_RCVBUF", SO_RCVBUF);
  set("SO_SNDBUF", SO_SNDBUF);
  set("IPPROTO_IP", IPPROTO_IP);
  set("IPPROTO_IPV6", IPPROTO_IPV6);
  set("IP_TTL", IP_TTL);
  set("IP_TOS", IP_TOS);
  set("IPV6_TCLASS", IPV6_TCLASS);
  set("IP_MULTICAST_TTL", IP_MULTICAST_TTL);
  set("IP_MULTICAST_LOOP", IP_MULTICAST_LOOP);
  set("IP_MULTICAST_ALL", IP_MULTICAST_ALL);
  set("IPV6_UNICAST_HOPS", IPV6_UNICAST_HOPS);
  set("IPV6_MULTICAST_HOPS", IPV6_MULTICAST_HOPS);
  set("IPV6_MULTICAST_LOOP", IPV6_MULTICAST_LOOP);
  set("IPV6_MULTICAST_ALL", 29);  // IPV6_MULTICAST_ALL (linux/in6.h), absent from older libc headers
  set("IPV6_CHECKSUM", IPV6_CHECKSUM);
  set("IPV6_V6ONLY", IPV6_V6ONLY);
  set("SOL_PACKET", SOL_PACKET);
  set("PACKET_IGNORE_OUTGOING", 23);  // linux/if_packet.h, kernel >= 4.20
  set("EAGAIN", EAGAIN);
  set("ENOBUFS", ENOBUFS);
  exports.Set("constants", c);
  return exports;
}

}  // namespace

NODE_API_MODULE(netio, Init)

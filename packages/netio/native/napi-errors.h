// The errors the addon throws to JavaScript, shaped as Node's own system errors (`code`, `errno`,
// `syscall`): one definition for netio.cc and relay.cc.
#pragma once

#include <napi.h>
#include <uv.h>

#include <errno.h>
#include <string.h>

#include <string>

namespace netio_errors {

// A failed system call: `<syscall> failed: <strerror>`, code `ECONNREFUSED`-style.
inline Napi::Error SysError(Napi::Env env, int err, const char* syscall) {
  std::string message = std::string(syscall) + " failed: " + strerror(err);
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, uv_err_name(-err)));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

// A bad argument from JavaScript: a TypeError with code EINVAL.
inline Napi::Error ArgError(Napi::Env env, const std::string& message) {
  Napi::Error e = Napi::TypeError::New(env, message);
  e.Set("code", Napi::String::New(env, "EINVAL"));
  e.Set("errno", Napi::Number::New(env, EINVAL));
  e.Set("syscall", Napi::String::New(env, "argument"));
  return e;
}

}  // namespace netio_errors

#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>

namespace portline::testing {

/// Runs a coroutine on `io` (in this thread) until it finishes, at most `limit`.
template <typename T>
T RunTask(boost::asio::io_context& io, boost::asio::awaitable<T> task,
          std::chrono::seconds limit = std::chrono::seconds(60)) {
  std::optional<T> out;
  std::exception_ptr error;
  auto done = [&out, &error](std::exception_ptr e, T value) {
    error = e;
    out = std::move(value);
  };
  boost::asio::co_spawn(io, std::move(task), done);
  io.restart();
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!out && !error && std::chrono::steady_clock::now() < end) {
    io.run_one_for(std::chrono::milliseconds(50));
  }
  if (error) {
    std::rethrow_exception(error);
  }
  if (!out) {
    throw std::runtime_error("coroutine did not finish");
  }
  return std::move(*out);
}

}  // namespace portline::testing

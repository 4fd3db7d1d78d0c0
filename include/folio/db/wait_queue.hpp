// The FIFO of coroutines waiting for a bounded pool's resource (db::Pool's connections,
// cache::RedisPool's): the part of a pool that must stay correct when the pool goes away
// while callers wait.
//
// A caller that finds no free resource joins the queue by constructing a Waiter and suspends
// in Waiter::wait() until the pool hands it a resource (hand_over), tells it a slot became
// free so it may open one itself (wake_for_slot), its deadline passes, its coroutine is
// cancelled, or the pool closes the queue. close() resumes every waiter with the pool's error
// — waiters that were woken but have not run yet included — and takes back the resources
// handed to those. A waiter resumed by close() never touches the queue again, so the pool
// that owned it may already be destroyed when the waiter runs.
//
// Thread-safety: none; like the pools, a queue and its waiters are used from one executor.
#pragma once

#include <algorithm>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <cassert>
#include <chrono>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

namespace folio::db {

template <typename Resource>
class WaitQueue {
 public:
  enum class Wake { kResource, kSlot, kTimeout };
  struct Outcome {
    Wake wake = Wake::kTimeout;
    std::unique_ptr<Resource> resource;  // set for kResource
  };

  // One caller's place in the queue; lives in the caller's coroutine frame.
  class Waiter {
   public:
    // Joins the queue: at its end, or with first_in_line behind the waiters that asked the
    // same and ahead of everyone else. REQUIRES: the queue is not closed.
    Waiter(WaitQueue& queue, const boost::asio::any_io_executor& executor,
           std::chrono::steady_clock::time_point deadline, bool first_in_line = false)
        : queue_(&queue), timer_(executor, deadline), first_in_line_(first_in_line) {
      queue.enqueue(this);
    }
    Waiter(const Waiter&) = delete;
    Waiter& operator=(const Waiter&) = delete;
    // A frame destroyed while suspended leaves the queue (unless close() removed it already).
    ~Waiter() { leave(); }

    // Suspends until woken and has left the queue when it returns: kResource with the resource,
    // kSlot, or kTimeout at the deadline. Throws the error given to close() when the queue was
    // closed meanwhile (without touching the queue: it may be gone), and
    // boost::system::system_error(operation_aborted) when the coroutine is cancelled. Once.
    boost::asio::awaitable<Outcome> wait() {
      boost::system::error_code ec;
      co_await timer_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      if (closed_) std::rethrow_exception(closed_);
      leave();
      if (resource_) co_return Outcome{Wake::kResource, std::move(resource_)};
      if (slot_) co_return Outcome{Wake::kSlot, nullptr};
      if (ec == boost::asio::error::operation_aborted) throw boost::system::system_error(ec);
      co_return Outcome{Wake::kTimeout, nullptr};
    }

   private:
    friend class WaitQueue;
    void leave() noexcept {
      if (queue_ != nullptr) queue_->remove(this);
      queue_ = nullptr;
    }
    void wake() noexcept {
      try {
        timer_.cancel();
      } catch (...) {  // NOLINT(bugprone-empty-catch): only a closed timer service throws
      }
    }

    WaitQueue* queue_;  // null once it left the queue
    boost::asio::steady_timer timer_;
    std::unique_ptr<Resource> resource_;
    bool slot_ = false;
    bool first_in_line_;
    std::exception_ptr closed_;  // set by close()
  };

  WaitQueue() = default;
  WaitQueue(const WaitQueue&) = delete;
  WaitQueue& operator=(const WaitQueue&) = delete;
  // An owner that did not close() the queue leaves no waiter dangling either.
  ~WaitQueue() {
    if (!closed_) close(std::make_exception_ptr(std::runtime_error("the pool was destroyed")));
  }

  // Gives `resource` to the first waiter and returns true; false (resource untouched) when
  // nobody waits.
  bool hand_over(std::unique_ptr<Resource>& resource) noexcept {
    Waiter* w = pop();
    if (w == nullptr) return false;
    w->resource_ = std::move(resource);
    w->wake();
    return true;
  }

  // Tells the first waiter that it may open a resource of its own; false when nobody waits.
  bool wake_for_slot() noexcept {
    Waiter* w = pop();
    if (w == nullptr) return false;
    w->slot_ = true;
    w->wake();
    return true;
  }

  // Resumes every waiter with `error` and refuses new ones. Returns the resources handed to
  // waiters that had not run yet (the owner still counts them as lent). Later calls: no-op.
  std::vector<std::unique_ptr<Resource>> close(const std::exception_ptr& error) noexcept {
    std::vector<std::unique_ptr<Resource>> reclaimed;
    if (closed_) return reclaimed;
    closed_ = true;
    auto fail = [&](Waiter* w) {
      w->closed_ = error;
      w->queue_ = nullptr;
      if (w->resource_) reclaimed.push_back(std::move(w->resource_));
      w->wake();
    };
    std::for_each(waiting_.begin(), waiting_.end(), fail);
    std::for_each(woken_.begin(), woken_.end(), fail);
    waiting_.clear();
    woken_.clear();
    return reclaimed;
  }

  bool closed() const noexcept { return closed_; }
  // Waiters not yet woken.
  std::size_t size() const noexcept { return waiting_.size(); }

 private:
  void enqueue(Waiter* w) {
    assert(!closed_);
    // Room for every waiter to be woken, so that pop() never allocates (it is noexcept).
    woken_.reserve(waiting_.size() + woken_.size() + 1);
    if (w->first_in_line_) {
      auto at = std::find_if(waiting_.begin(), waiting_.end(),
                             [](const Waiter* other) { return !other->first_in_line_; });
      waiting_.insert(at, w);
    } else {
      waiting_.push_back(w);
    }
  }
  // The first waiter, moved to the woken ones until it runs.
  Waiter* pop() noexcept {
    if (waiting_.empty()) return nullptr;
    Waiter* w = waiting_.front();
    waiting_.pop_front();
    woken_.push_back(w);  // reserved by enqueue()
    return w;
  }
  void remove(Waiter* w) noexcept {
    std::erase(waiting_, w);
    std::erase(woken_, w);
  }

  std::deque<Waiter*> waiting_;
  std::vector<Waiter*> woken_;
  bool closed_ = false;
};

}  // namespace folio::db

// WaitQueue without a server: FIFO hand-over, first in line, slots, deadlines, and above all
// close() and the queue's destruction while coroutines wait on it (run under ASan, a waiter
// touching the destroyed queue fails the test).
#include "folio/db/wait_queue.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace folio::db {
namespace {

namespace asio = boost::asio;
using Queue = WaitQueue<int>;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// What one waiter ended with, as text: "got 7", "slot", "timeout", "error: ...".
asio::awaitable<void> wait_in(Queue& queue, std::string& outcome, Clock::duration limit = 60s,
                              bool first_in_line = false) {
  try {
    Queue::Waiter waiter(queue, co_await asio::this_coro::executor, Clock::now() + limit,
                         first_in_line);
    auto result = co_await waiter.wait();
    switch (result.wake) {
      case Queue::Wake::kResource:
        outcome = "got " + std::to_string(*result.resource);
        break;
      case Queue::Wake::kSlot:
        outcome = "slot";
        break;
      case Queue::Wake::kTimeout:
        outcome = "timeout";
        break;
    }
  } catch (const std::exception& e) {
    outcome = std::string("error: ") + e.what();
  }
}

std::exception_ptr shut_down() {
  return std::make_exception_ptr(std::runtime_error("the pool was shut down while waiting"));
}

TEST(WaitQueue, HandsOverInOrderFirstInLineAhead) {
  asio::io_context io;
  Queue queue;
  std::vector<std::string> outcomes(4);
  asio::co_spawn(io, wait_in(queue, outcomes[0]), asio::detached);
  asio::co_spawn(io, wait_in(queue, outcomes[1]), asio::detached);
  asio::co_spawn(io, wait_in(queue, outcomes[2], 60s, true), asio::detached);
  asio::co_spawn(io, wait_in(queue, outcomes[3]), asio::detached);
  io.poll();
  ASSERT_EQ(queue.size(), 4u);
  for (int i = 1; i <= 3; ++i) {
    auto resource = std::make_unique<int>(i);
    EXPECT_TRUE(queue.hand_over(resource));
    EXPECT_EQ(resource, nullptr);
  }
  EXPECT_TRUE(queue.wake_for_slot());
  auto spare = std::make_unique<int>(9);
  EXPECT_FALSE(queue.hand_over(spare));  // nobody left
  EXPECT_EQ(*spare, 9);
  io.run();
  EXPECT_EQ(outcomes, (std::vector<std::string>{"got 2", "got 3", "got 1", "slot"}));
  EXPECT_EQ(queue.size(), 0u);
}

TEST(WaitQueue, AWaiterTimesOutAtItsDeadline) {
  asio::io_context io;
  Queue queue;
  std::string outcome;
  asio::co_spawn(io, wait_in(queue, outcome, 10ms), asio::detached);
  io.run();
  EXPECT_EQ(outcome, "timeout");
  EXPECT_EQ(queue.size(), 0u);
}

TEST(WaitQueue, CloseFailsEveryWaiterAndTakesBackWhatWasHandedOver) {
  asio::io_context io;
  Queue queue;
  std::vector<std::string> outcomes(4);
  for (auto& outcome : outcomes) asio::co_spawn(io, wait_in(queue, outcome), asio::detached);
  io.poll();
  ASSERT_EQ(queue.size(), 4u);
  // The first one is woken with a resource but has not run yet when the queue closes.
  auto resource = std::make_unique<int>(1);
  ASSERT_TRUE(queue.hand_over(resource));
  EXPECT_TRUE(queue.wake_for_slot());  // the second one: told of a free slot
  auto reclaimed = queue.close(shut_down());
  ASSERT_EQ(reclaimed.size(), 1u);
  EXPECT_EQ(*reclaimed[0], 1);
  EXPECT_TRUE(queue.closed());
  EXPECT_EQ(queue.size(), 0u);
  io.run();
  const std::string error = "error: the pool was shut down while waiting";
  EXPECT_EQ(outcomes, (std::vector<std::string>(4, error)));
  EXPECT_TRUE(queue.close(shut_down()).empty());  // idempotent
}

TEST(WaitQueue, WaitersOutliveTheQueueAndFailWithItsError) {
  asio::io_context io;
  auto queue = std::make_unique<Queue>();
  std::vector<std::string> outcomes(3);
  for (auto& outcome : outcomes) asio::co_spawn(io, wait_in(*queue, outcome), asio::detached);
  io.poll();
  auto resource = std::make_unique<int>(1);
  ASSERT_TRUE(queue->hand_over(resource));
  // Its owner closes it, then it is gone before any waiter runs.
  queue->close(shut_down());
  queue.reset();
  io.run();
  EXPECT_EQ(outcomes, (std::vector<std::string>(3, "error: the pool was shut down while waiting")));
}

TEST(WaitQueue, ADestroyedQueueThatWasNotClosedStillFailsItsWaiters) {
  asio::io_context io;
  auto queue = std::make_unique<Queue>();
  std::vector<std::string> outcomes(2);
  for (auto& outcome : outcomes) asio::co_spawn(io, wait_in(*queue, outcome), asio::detached);
  io.poll();
  queue.reset();
  io.run();
  EXPECT_EQ(outcomes, (std::vector<std::string>(2, "error: the pool was destroyed")));
}

TEST(WaitQueue, AFrameDestroyedWhileWaitingLeavesTheQueue) {
  Queue queue;
  {
    asio::io_context io;
    std::string outcome;
    asio::co_spawn(io, wait_in(queue, outcome), asio::detached);
    io.poll();
    EXPECT_EQ(queue.size(), 1u);
  }  // the io_context destroys the suspended frame
  EXPECT_EQ(queue.size(), 0u);
  auto resource = std::make_unique<int>(1);
  EXPECT_FALSE(queue.hand_over(resource));
}

}  // namespace
}  // namespace folio::db

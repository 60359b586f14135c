// Ends work in progress once a stop is due: a signal, a deadline.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

namespace loom::driver {

// While it lives, polls `stop_due` every 50 ms and calls `cancel` whenever it
// holds: again on every tick, because work submitted between two ticks (a
// batch between two submissions at the first cancellation) must end too.
class CancelWatch {
 public:
  CancelWatch(std::function<bool()> stop_due, std::function<void()> cancel)
      : watcher_([this, stop_due = std::move(stop_due), cancel = std::move(cancel)] {
          while (watching_.load()) {
            if (stop_due()) cancel();
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
          }
        }) {}
  ~CancelWatch() {
    watching_ = false;
    watcher_.join();
  }
  CancelWatch(const CancelWatch&) = delete;
  CancelWatch& operator=(const CancelWatch&) = delete;

 private:
  std::atomic<bool> watching_{true};
  std::thread watcher_;
};

}  // namespace loom::driver

// A TCP fault gate for tests: a proxy on a loopback port of its own, in front of a real
// server (the primary, PgBouncer, a replica, Redis), that forwards every connection and can be
// told to misbehave, per direction, the way networks and hosts fail:
//
//   pass       bytes go through
//   slow       each chunk waits `latency` first
//   blackhole  connections are accepted and kept, bytes are held, nothing answers; when the
//              direction passes again the held bytes are delivered (TCP retransmission after a
//              partition heals)
//   reset      every connection is reset (RST) at once, and so is every new one
//   half_open  the receiving side gets a FIN (shutdown of that direction), the other stays up
//
// "up" is client → server, "down" server → client.
//
//   FaultGate gate("127.0.0.1", pgbouncer_port);
//   ... point the code under test at 127.0.0.1:gate.port() ...
//   gate.set(FaultGate::blackhole);   // both directions
//   gate.heal();
//
// The gate runs on a thread of its own, so a test may block while it works.
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace folio::test {

class FaultGate {
 public:
  enum Mode { pass, slow, blackhole, reset, half_open };

  // Listens on 127.0.0.1 (a free port) and forwards to host:port. Throws on failure.
  FaultGate(std::string host, std::uint16_t port);
  ~FaultGate();
  FaultGate(const FaultGate&) = delete;
  FaultGate& operator=(const FaultGate&) = delete;

  std::uint16_t port() const noexcept;
  // "127.0.0.1:PORT", for URLs.
  std::string address() const;

  // Sets both directions, or each; `latency` applies to `slow`.
  void set(Mode both, std::chrono::milliseconds latency = std::chrono::milliseconds(0));
  void set(Mode up, Mode down, std::chrono::milliseconds latency = std::chrono::milliseconds(0));
  void heal() { set(pass); }
  // Connections open now (each a client with its server side).
  std::size_t connections() const;

  struct State;  // the proxy's sockets and thread (fault_gate.cpp)

 private:
  std::shared_ptr<State> state_;
};

}  // namespace folio::test

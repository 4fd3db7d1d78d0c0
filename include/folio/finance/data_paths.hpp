// Where the finance repositories' reads go and what their writes leave behind for those
// reads (SPEC §5): all three are optional, and with none set every read and write uses the
// repository's pool (the primary).
//
//   router     reads that may be slightly stale go to a replica in rotation that has
//              replayed the organization's latest write (read-your-writes), else the primary
//   positions  this process's record of each organization's latest write position
//   cache      the fleet's record of it (Redis, shared by every instance) and the
//              organization's cache version, bumped after every committed write
//
// After a write commits, the repository reads the primary's WAL position (only when replicas
// are configured), notes it in `positions`, then calls cache->written(org, lsn) — in that
// order, before the call returns, so a read that follows the response sees the marker. When
// the shared marker cannot be read (Redis down), reads of that organization go to the
// primary: staleness is never traded for availability.
//
// Thread-safety: plain pointers; the objects are per worker (router, cache) or thread-safe
// (positions).
// REQUIRES: the objects outlive the repositories given them.
#pragma once

namespace folio::db {
class ReadRouter;
class WritePositions;
}  // namespace folio::db

namespace folio::cache {
class CacheService;
}  // namespace folio::cache

namespace folio::finance {

struct DataPaths {
  db::ReadRouter* router = nullptr;
  db::WritePositions* positions = nullptr;
  cache::CacheService* cache = nullptr;
};

}  // namespace folio::finance

#include "famfs/allocator.h"

#include <algorithm>
#include <bit>
#include <numeric>

namespace famfs {
namespace {

constexpr uint64_t kMaxBuckets = 64;
constexpr uint64_t kMinBucketBytes = omf::kGiB;

// Written not to overflow: sizes here come from logs anyone may have written.
uint64_t div_up(uint64_t a, uint64_t b) {
    return a / b + (a % b != 0);
}

uint64_t add_saturating(uint64_t a, uint64_t b) {
    return b > ~uint64_t{0} - a ? ~uint64_t{0} : a + b;
}

std::string bytes_text(uint64_t n) {
    return std::to_string(n) + " bytes";
}

uint64_t& end_of(uint64_t& end) {
    return end;
}

template <class V>
uint64_t& end_of(V& v) {
    return v.end;
}

}  // namespace

// Removes units [first, end) from a map of disjoint runs start -> value
// (whose end end_of() gives), splitting the runs that straddle its ends.
template <class Map>
void cut_runs(Map& runs, uint64_t first, uint64_t end) {
    auto it = runs.upper_bound(first);
    if (it != runs.begin() && end_of(std::prev(it)->second) > first) --it;
    while (it != runs.end() && it->first < end) {
        const uint64_t s = it->first;
        auto value = it->second;
        const uint64_t e = end_of(value);
        it = runs.erase(it);
        if (s < first) {
            auto head = value;
            end_of(head) = first;
            runs.emplace(s, head);
        }
        if (e > end) it = runs.emplace(end, value).first;
    }
}

// One entry's claim in progress: how many more owner runs it may walk to
// name the earlier claimants, and the units it collided on past that.
class Allocator::ClaimOfEntry {
  public:
    ClaimOfEntry(uint64_t index, size_t first_record)
        : index_(index), first_record_(first_record), rest_{0, 0, Collision::kNotItemised, index} {}

    uint64_t index() const { return index_; }
    bool may_walk() const { return steps_left_ > 0; }
    void walked() { --steps_left_; }

    // Adds a run to this entry's records: extends the last one when it
    // continues it, else a new record; a run already itemised goes to the rest.
    void itemise(std::vector<Collision>& out, const Collision& c) {
        if (out.size() > first_record_) {
            Collision& last = out.back();
            if (last.first_index == c.first_index && last.unit + last.units == c.unit) {
                last.units += c.units;
                return;
            }
        }
        for (size_t i = first_record_; i < out.size(); ++i)
            if (out[i].unit == c.unit && out[i].first_index == c.first_index)
                return add_to_rest(c.unit, c.units);
        out.push_back(c);
    }
    void add_to_rest(uint64_t unit, uint64_t units) {
        if (rest_.units == 0) rest_.unit = unit;
        rest_.units += units;
    }
    void finish(std::vector<Collision>& out) const {
        if (rest_.units != 0) out.push_back(rest_);
    }

  private:
    uint64_t index_;
    size_t first_record_;  // this entry's records start here
    uint64_t steps_left_ = kItemisedRunsPerEntry;
    Collision rest_;
};

Allocator::Allocator(const omf::Superblock& sb)
    : unit_(sb.alloc_unit), units_(sb.dev_size / sb.alloc_unit), words_(div_up(units_, 64), 0) {
    const uint64_t metadata_end = add_saturating(sb.log_offset, sb.log_len);
    mark(0, std::min(units_, div_up(metadata_end, unit_)), Collision::kReserved);
}

// The unit runs [first, end) a file's map covers, clipped to the device.
template <class F>
void Allocator::for_each_run(const omf::FileEntry& f, F&& fn) const {
    const auto& extents = f.ext_type == omf::ExtentType::kSimple ? f.extents : f.interleave.strips;
    for (const auto& x : extents) {
        const uint64_t first = x.offset / unit_;
        if (first >= units_) continue;  // past the device: nothing there to claim
        const uint64_t end = first + std::min(div_up(x.len, unit_), units_ - first);
        if (end > first) fn(first, end);
    }
}

void Allocator::claim(const omf::FileEntry& f, uint64_t index) {
    ClaimOfEntry claim(index, collisions_.size());
    for_each_run(f, [&](uint64_t first, uint64_t end) {
        if (!pending_.empty()) take_pending(first, end);
        claim_run(first, end, index, claim);
        record_run(index, first, end);
    });
    claim.finish(collisions_);
}

void Allocator::record_run(uint64_t index, uint64_t first, uint64_t end) {
    if (index >= file_runs_.size()) file_runs_.resize(index + 1);
    FileRuns& r = file_runs_[index];
    if (r.count == 0) r.begin = static_cast<uint32_t>(runs_.size());
    if (r.begin + r.count != runs_.size()) return;  // not this file's latest runs: ignore
    runs_.emplace_back(first, end);
    ++r.count;
}

void Allocator::adopt(const omf::FileEntry& f, uint64_t index) {
    for_each_run(f, [&](uint64_t first, uint64_t end) {
        cut_runs(owners_, first, end);
        if (owners_.size() < kMaxOwnerRuns) owners_.emplace(first, Owned{end, index});
        record_run(index, first, end);
    });
}

bool Allocator::owned_by(uint64_t first, uint64_t end, uint64_t index) const {
    auto it = owners_.upper_bound(first);
    if (it == owners_.begin()) return false;
    for (--it; first < end; ++it) {
        if (it == owners_.end() || it->first > first || it->second.end <= first ||
            it->second.index != index)
            return false;
        first = it->second.end;
    }
    return true;
}

uint64_t Allocator::pend(uint64_t file_index, uint64_t delete_index) {
    if (file_index >= file_runs_.size() || units_claimed_twice_ != 0) return 0;
    const FileRuns r = file_runs_[file_index];
    for (uint32_t i = r.begin; i < r.begin + r.count; ++i)
        if (!owned_by(runs_[i].first, runs_[i].second, file_index)) return 0;
    uint64_t n = 0;
    for (uint32_t i = r.begin; i < r.begin + r.count; ++i) {
        const auto [first, end] = runs_[i];
        if (pending_.count(first)) continue;  // the same run twice in one map
        pending_.emplace(first, PendingRun{end, delete_index});
        n += end - first;
    }
    file_runs_[file_index].count = 0;
    pending_units_ += n;
    return n;
}

uint64_t Allocator::reclaim(uint64_t horizon) {
    uint64_t n = 0;
    for (auto it = pending_.begin(); it != pending_.end();) {
        if (it->second.delete_index >= horizon) {
            ++it;
            continue;
        }
        release(it->first, it->second.end);
        n += it->second.end - it->first;
        it = pending_.erase(it);
    }
    pending_units_ -= n;
    return n;
}

void Allocator::take_pending(uint64_t first, uint64_t end) {
    auto it = pending_.upper_bound(first);
    if (it != pending_.begin() && std::prev(it)->second.end > first) --it;
    while (it != pending_.end() && it->first < end) {
        const uint64_t s = it->first;
        const PendingRun run = it->second;
        it = pending_.erase(it);
        const uint64_t lo = std::max(s, first), hi = std::min(run.end, end);
        release(lo, hi);
        pending_units_ -= hi - lo;
        if (s < lo) pending_.emplace(s, PendingRun{lo, run.delete_index});
        if (run.end > hi) it = pending_.emplace(hi, PendingRun{run.end, run.delete_index}).first;
    }
}

void Allocator::release(uint64_t first, uint64_t end) {
    for (uint64_t u = first; u < end; ++u) words_[u / 64] &= ~(uint64_t{1} << (u % 64));
    used_ -= end - first;
    cut_runs(claimed_, first, end);
    cut_runs(owners_, first, end);
}

// The claimed runs that overlap or touch [first, end) are merged into one;
// the free units between them are taken, the others collide. A run that
// starts at or before `first` is kept and extended (the usual case: a new
// file right after the last one), the others are erased.
void Allocator::claim_run(uint64_t first, uint64_t end, uint64_t owner, ClaimOfEntry& claim) {
    auto it = claimed_.upper_bound(first);
    if (it != claimed_.begin() && std::prev(it)->second >= first) --it;
    auto kept = claimed_.end();
    uint64_t merged_end = end, at = first;
    while (it != claimed_.end() && it->first <= end) {
        const uint64_t run_start = it->first, run_end = it->second;
        if (run_start > at) take(at, run_start, owner);
        const uint64_t overlap_start = std::max(run_start, at),
                       overlap_end = std::min(run_end, end);
        if (overlap_start < overlap_end) collide(overlap_start, overlap_end, claim);
        at = std::max(at, std::min(run_end, end));
        merged_end = std::max(merged_end, run_end);
        if (run_start <= first) {
            kept = it++;
        } else {
            it = claimed_.erase(it);
        }
    }
    if (at < end) take(at, end, owner);
    if (kept != claimed_.end()) {
        kept->second = merged_end;
    } else {
        claimed_.emplace(first, merged_end);
    }
}

void Allocator::take(uint64_t first, uint64_t end, uint64_t owner) {
    set_in_use(first, end);
    used_ += end - first;
    auto next = owners_.lower_bound(first);
    if (next != owners_.begin()) {
        Owned& prev = std::prev(next)->second;
        if (prev.end == first && prev.index == owner) {
            prev.end = end;  // a file's extents usually follow one another
            return;
        }
    }
    if (owners_.size() < kMaxOwnerRuns) owners_.emplace_hint(next, first, Owned{end, owner});
}

// Names the earlier claimants run by run while the entry may still walk,
// then sums the rest: a collision over a million owner runs costs a few
// steps, not a million. Units whose first claimant was not recorded (past
// kMaxOwnerRuns) go to the rest too.
void Allocator::collide(uint64_t first, uint64_t end, ClaimOfEntry& claim) {
    units_claimed_twice_ = add_saturating(units_claimed_twice_, end - first);
    uint64_t at = first;
    auto owner = owners_.upper_bound(first);
    if (owner != owners_.begin()) --owner;
    for (; at < end && owner != owners_.end() && owner->first < end && claim.may_walk(); ++owner) {
        claim.walked();
        const uint64_t run_end = std::min(end, owner->second.end);
        if (run_end <= at) continue;
        if (owner->first > at) claim.add_to_rest(at, owner->first - at);  // not recorded
        const uint64_t from = std::max(at, owner->first);
        claim.itemise(collisions_, {from, run_end - from, owner->second.index, claim.index()});
        at = run_end;
    }
    if (at < end) claim.add_to_rest(at, end - at);
}

void Allocator::mark(uint64_t first, uint64_t n, uint64_t owner) {
    if (n == 0) return;
    ClaimOfEntry claim(owner, collisions_.size());
    claim_run(first, first + n, owner, claim);
    claim.finish(collisions_);
}

// Whole words where it can, so that taking a huge extent costs units / 64.
void Allocator::set_in_use(uint64_t first, uint64_t end) {
    for (uint64_t u = first; u < end;) {
        if (u % 64 == 0 && end - u >= 64) {
            words_[u / 64] = ~uint64_t{0};
            u += 64;
            continue;
        }
        words_[u / 64] |= uint64_t{1} << (u % 64);
        ++u;
    }
}

// Whole words at a time where it can: a full word ends any run, an empty
// one extends it by 64 units.
uint64_t Allocator::find_free(uint64_t n, uint64_t lo, uint64_t hi) const {
    uint64_t run = 0;
    for (uint64_t u = lo; u < hi;) {
        if (u % 64 == 0 && u + 64 <= hi) {
            const uint64_t w = words_[u / 64];
            if (w == ~uint64_t{0} || w == 0) {
                run = w ? 0 : run + 64;
                u += 64;
                if (run >= n) return u - run;
                continue;
            }
        }
        run = in_use(u) ? 0 : run + 1;
        ++u;
        if (run == n) return u - n;
    }
    return hi;
}

Result<omf::Extent> Allocator::allocate(uint64_t size) {
    const uint64_t n = std::max<uint64_t>(1, div_up(size, unit_));
    const uint64_t first = n > units_ ? units_ : find_free(n, 0, units_);
    if (first == units_)
        return make_error(ENOSPC, "out of space: no free run of " + bytes_text(size) + " (" +
                                      bytes_text(free_bytes()) + " free in all)");
    mark(first, n, Collision::kUnlogged);
    return omf::Extent{0, first * unit_, n * unit_};
}

Status Allocator::check_interleave(const InterleaveParams& ip) const {
    auto bad = [](const std::string& why) { return make_error(EINVAL, "interleave: " + why); };
    if (ip.nbuckets == 0 || ip.nbuckets > kMaxBuckets) return bad("buckets must be 1 to 64");
    if (ip.nstrips == 0 || ip.nstrips > omf::kMaxStrips) return bad("strips must be 1 to 16");
    if (ip.nstrips > ip.nbuckets) return bad("more strips than buckets");
    if (ip.chunk_size == 0 || ip.chunk_size % unit_ || !std::has_single_bit(ip.chunk_size))
        return bad("chunk size " + std::to_string(ip.chunk_size) +
                   " must be a power of two and a multiple of " + std::to_string(unit_));
    if (capacity() / ip.nbuckets < kMinBucketBytes)
        return bad(std::to_string(ip.nbuckets) + " buckets of a " + bytes_text(capacity()) +
                   " device are smaller than 1 GiB each");
    return {};
}

Result<omf::Interleave> Allocator::allocate_interleaved(uint64_t size, const InterleaveParams& ip) {
    uint64_t chunk_units = ip.chunk_size / unit_;
    uint64_t strip_units = div_up(div_up(size, unit_), ip.nstrips * chunk_units) * chunk_units;
    uint64_t bucket_units = units_ / ip.nbuckets;

    // Strips go to distinct buckets, the emptiest first, so striped files
    // spread over the device instead of piling into bucket 0.
    std::vector<uint64_t> order(ip.nbuckets);
    std::iota(order.begin(), order.end(), 0);
    std::vector<uint64_t> used(ip.nbuckets, 0);
    for (uint64_t b = 0; b < ip.nbuckets; ++b)
        for (uint64_t u = b * bucket_units; u < (b + 1) * bucket_units; ++u) used[b] += in_use(u);
    std::stable_sort(order.begin(), order.end(),
                     [&](uint64_t x, uint64_t y) { return used[x] < used[y]; });

    std::vector<uint64_t> starts;
    for (uint64_t b : order) {
        if (starts.size() == ip.nstrips) break;
        uint64_t lo = b * bucket_units, hi = lo + bucket_units;
        uint64_t first = find_free(strip_units, lo, hi);
        if (first != hi) starts.push_back(first);
    }
    if (starts.size() < ip.nstrips)
        return make_error(ENOSPC, "out of space: " + std::to_string(ip.nstrips) + " strips of " +
                                      bytes_text(strip_units * unit_) + " need " +
                                      std::to_string(ip.nstrips) + " buckets with room; " +
                                      std::to_string(starts.size()) + " have it");
    std::sort(starts.begin(), starts.end());
    omf::Interleave il{ip.nstrips, ip.chunk_size, {}};
    for (uint64_t first : starts) {
        mark(first, strip_units, Collision::kUnlogged);
        il.strips.push_back({0, first * unit_, strip_units * unit_});
    }
    return il;
}

Result<omf::FileEntry> Allocator::allocate_file(uint64_t size, const InterleaveParams& ip) {
    omf::FileEntry f;
    f.size = size;
    if (ip.enabled()) {
        FAMFS_TRY(check_interleave(ip));
        // Bounds every strip computation below by the device's size.
        if (size > capacity())
            return make_error(ENOSPC, "out of space: " + bytes_text(size) + " on a device of " +
                                          bytes_text(capacity()));
        if (size >= ip.chunk_size) {
            auto il = allocate_interleaved(size, ip);
            if (!il) return il.error();
            f.ext_type = omf::ExtentType::kInterleaved;
            f.interleave = std::move(il.value());
            return f;
        }
    }
    auto x = allocate(size);
    if (!x) return x.error();
    f.extents.push_back(*x);
    return f;
}

std::vector<BucketStats> Allocator::bucket_stats(uint64_t nbuckets) const {
    std::vector<BucketStats> out;
    if (nbuckets == 0) return out;
    uint64_t bucket_units = units_ / nbuckets;
    for (uint64_t b = 0; b < nbuckets; ++b) {
        BucketStats s;
        s.size = bucket_units * unit_;
        uint64_t run = 0;
        auto close_run = [&] {
            if (run == 0) return;
            ++s.fragments;
            s.largest = std::max(s.largest, run * unit_);
            s.smallest = s.smallest == 0 ? run * unit_ : std::min(s.smallest, run * unit_);
            run = 0;
        };
        for (uint64_t u = b * bucket_units; u < (b + 1) * bucket_units; ++u) {
            if (in_use(u)) {
                s.used += unit_;
                close_run();
            } else {
                ++run;
            }
        }
        close_run();
        s.free = s.size - s.used;
        out.push_back(s);
    }
    return out;
}

}  // namespace famfs

#include "famfs/allocator.h"

#include <algorithm>
#include <bit>
#include <numeric>

namespace famfs {
namespace {

constexpr uint64_t kMaxBuckets = 64;
constexpr uint64_t kMinBucketBytes = omf::kGiB;

uint64_t div_up(uint64_t a, uint64_t b) {
    return (a + b - 1) / b;
}

std::string bytes_text(uint64_t n) {
    return std::to_string(n) + " bytes";
}

}  // namespace

Allocator::Allocator(const omf::Superblock& sb)
    : unit_(sb.alloc_unit), units_(sb.dev_size / sb.alloc_unit), words_(div_up(units_, 64), 0) {
    uint64_t reserved = std::min(units_, div_up(sb.log_offset + sb.log_len, unit_));
    mark(0, reserved);
}

void Allocator::claim(const omf::FileEntry& f, uint64_t index) {
    const auto& extents = f.ext_type == omf::ExtentType::kSimple ? f.extents : f.interleave.strips;
    for (const auto& x : extents) {
        uint64_t first = x.offset / unit_;
        uint64_t end = std::min(units_, first + div_up(x.len, unit_));
        for (uint64_t u = first; u < end; ++u) {
            if (in_use(u)) {
                collisions_.push_back({u, index, f.relpath});
                continue;
            }
            set_in_use(u);
            ++used_;
        }
    }
}

void Allocator::mark(uint64_t first, uint64_t n) {
    for (uint64_t u = first; u < first + n; ++u) {
        if (!in_use(u)) ++used_;
        set_in_use(u);
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
    uint64_t n = std::max<uint64_t>(1, div_up(size, unit_));
    uint64_t first = find_free(n, 0, units_);
    if (first == units_)
        return make_error(ENOSPC, "out of space: no free run of " + bytes_text(n * unit_) + " (" +
                                      bytes_text(free_bytes()) + " free in all)");
    mark(first, n);
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
        mark(first, strip_units);
        il.strips.push_back({0, first * unit_, strip_units * unit_});
    }
    return il;
}

Result<omf::FileEntry> Allocator::allocate_file(uint64_t size, const InterleaveParams& ip) {
    omf::FileEntry f;
    f.size = size;
    if (ip.enabled()) {
        FAMFS_TRY(check_interleave(ip));
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

// Every command the harness runs for someone (in a guest, over QMP/HMP, or a
// lab action) is recorded in RUN/transcript.jsonl and RUN/transcript.log.
#pragma once

#include <string>

#include "run_dir.h"

namespace lab {

struct TranscriptRecord {
    std::string host;
    std::string kind;  // exec, qmp, hmp, lab
    std::string command;
    int exit_code = 0;
    std::string out;
    std::string err;
    double seconds = 0;
};

void record_transcript(const RunDir& run, const TranscriptRecord& rec);

}  // namespace lab

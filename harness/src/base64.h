// Base64 as used by the guest agent for command input and output.
#pragma once

#include <string>
#include <string_view>

namespace lab {

std::string base64_encode(std::string_view data);
// Skips characters outside the alphabet (the agent never sends any).
std::string base64_decode(std::string_view text);

}  // namespace lab

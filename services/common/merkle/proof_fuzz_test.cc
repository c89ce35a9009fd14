// Runs the proof fuzz target on generated inputs (CI has no libFuzzer
// build): genuine proofs and every kind of mutation, seeded.

#include <random>
#include <vector>

#include "gtest/gtest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

TEST(ProofFuzzTest, VerifiersNeverCrashNorAcceptForgeries) {
  std::mt19937 rng(20261122);
  for (int i = 0; i < 50000; ++i) {
    std::vector<uint8_t> input(4 + 2 * (rng() % 6));
    for (auto& b : input) b = static_cast<uint8_t>(rng());
    // About one input in six keeps the genuine proofs (no mutation bytes).
    if (i % 6 == 0) input.resize(4);
    ASSERT_EQ(LLVMFuzzerTestOneInput(input.data(), input.size()), 0);
  }
}

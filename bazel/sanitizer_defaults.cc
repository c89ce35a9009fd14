// Linked into every binary and test under --config=sanitizer only: what
// the sanitizers should not report, because it is not ours to fix.
//
// - c-ares (gRPC's DNS resolver) keeps a small allocation for the life of
//   the process.
// - tcmalloc (linked into the audit tool) registers its extension once and
//   never frees it.

extern "C" const char* __lsan_default_suppressions() {
  return "leak:libcares.so\n"
         "leak:MallocExtension::Register\n";
}

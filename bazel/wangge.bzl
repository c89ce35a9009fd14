"""Wangge's Bazel macros: every BUILD file uses these, never the native rules.

Compiler flags, warnings and test conventions live here once (as Envoy's
envoy_cc_* macros do), and proto generation runs the system protoc.
"""

WANGGE_COPTS = [
    "-std=c++17",
    "-Wall",
    "-Wextra",
    "-Wno-unused-parameter",
    "-Wno-missing-field-initializers",
    "-Werror=return-type",
    "-Werror=unused-result",
]

# Generated code is not ours to warn about.
_GENERATED_COPTS = ["-std=c++17", "-w"]

def wangge_cc_library(name, copts = [], **kwargs):
    native.cc_library(name = name, copts = WANGGE_COPTS + copts, **kwargs)

# tcmalloc (Debian's libtcmalloc-minimal), for binaries that allocate a lot
# on few threads: the audit tool's replay ran 1.3x faster with it. The
# services keep glibc's malloc: under load they gained nothing measurable
# and held more memory (docs/benchmarks.md).
TCMALLOC = "@system//:tcmalloc_minimal"

# Third-party leaks the sanitizers should not report
# (bazel/sanitizer_defaults.cc), linked under --config=sanitizer only.
_SANITIZER_DEPS = select({
    "//bazel:sanitizer": ["//bazel:sanitizer_defaults"],
    "//conditions:default": [],
})

def wangge_cc_binary(name, copts = [], deps = [], **kwargs):
    native.cc_binary(
        name = name,
        copts = WANGGE_COPTS + copts,
        deps = deps + _SANITIZER_DEPS,
        **kwargs
    )

def wangge_cc_test(name, copts = [], deps = [], size = "small", main = True, **kwargs):
    """A GoogleTest test; `main = False` when the test defines main() itself."""
    test_deps = ["@system//:gmock", "@system//:gtest"]
    if main:
        test_deps.append("@system//:gtest_main")
    native.cc_test(
        name = name,
        copts = WANGGE_COPTS + copts,
        deps = deps + test_deps + _SANITIZER_DEPS,
        size = size,
        **kwargs
    )

def wangge_cc_benchmark(name, copts = [], deps = [], tags = [], **kwargs):
    """A benchmark binary. Tagged manual: never part of `bazel test //...`."""
    native.cc_binary(
        name = name,
        copts = WANGGE_COPTS + copts,
        deps = deps + ["@system//:benchmark"],
        tags = tags + ["manual", "benchmark"],
        **kwargs
    )

def wangge_proto_library(name, srcs, deps = [], grpc = False, proto_root = "protos", visibility = None):
    """protoc + grpc_cpp_plugin from the system, as a cc_library.

    Imports are relative to `proto_root` (`import "wangge/common/v1/x.proto"`),
    and google/protobuf/*.proto come from /usr/include. `deps` are other
    wangge_proto_library targets. The cc_library is `name`; `name + "_srcs"`
    carries the .proto files transitively for dependants.
    """
    pkg = native.package_name()
    if not pkg.startswith(proto_root + "/") and pkg != proto_root:
        fail("wangge_proto_library must live under %s/" % proto_root)
    rel = pkg[len(proto_root) + 1:]
    native.filegroup(
        name = name + "_srcs",
        srcs = srcs + [d + "_srcs" for d in deps],
        visibility = visibility,
    )
    bases = [s[:-len(".proto")] for s in srcs]
    hdrs = [b + ".pb.h" for b in bases]
    ccs = [b + ".pb.cc" for b in bases]
    if grpc:
        hdrs += [b + ".grpc.pb.h" for b in bases]
        ccs += [b + ".grpc.pb.cc" for b in bases]
    cmd = ("protoc -I{root} -I/usr/include --cpp_out=$(GENDIR)/{root}".format(root = proto_root))
    if grpc:
        cmd += (" --grpc_out=$(GENDIR)/{root} --plugin=protoc-gen-grpc=$$(command -v grpc_cpp_plugin)".format(root = proto_root))
    cmd += " " + " ".join(["%s/%s/%s" % (proto_root, rel, s) for s in srcs])
    native.genrule(
        name = name + "_gen",
        srcs = [name + "_srcs"],
        outs = hdrs + ccs,
        cmd = cmd,
        message = "protoc " + pkg,
    )
    native.cc_library(
        name = name,
        srcs = ccs,
        hdrs = hdrs,
        copts = _GENERATED_COPTS,
        strip_include_prefix = "/" + proto_root,
        deps = deps + ["@system//:protobuf"] + (["@system//:grpc++"] if grpc else []),
        visibility = visibility,
    )

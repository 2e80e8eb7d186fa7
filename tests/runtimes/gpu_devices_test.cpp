// What a node gives a container that asks for GPUs, read from a host of the test's own making:
// a /proc/version and a /dev with real device nodes (made with mknod, as this machine has no
// GPU), so that a WSL2 kernel, NVIDIA's and AMD's devices and an MPS daemon's directories are
// the checks' real input.
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "runtimes/oci/gpu_devices.hpp"

using namespace nv;
using namespace nv::oci;
namespace fs = std::filesystem;

namespace {

class GpuDevices : public ::testing::Test {
protected:
  GpuDevices() {
    fs::create_directories(root / "dev/dri");
    set_kernel("Linux version 6.1.0-13-amd64 (debian-kernel@lists.debian.org)");
    host.proc_version = (root / "version").string();
    host.dev = (root / "dev").string();
    host.wsl_lib = (root / "wsl").string();
  }
  ~GpuDevices() override { fs::remove_all(root); }

  void set_kernel(const std::string& text) { std::ofstream{root / "version"} << text << "\n"; }

  // A character device at dev/<name>; false when this machine does not let the test make one.
  bool device(const std::string& name, unsigned major_, unsigned minor_) {
    auto path = root / "dev" / name;
    return ::mknod(path.c_str(), S_IFCHR | 0660, makedev(major_, minor_)) == 0 &&
           ::chmod(path.c_str(), 0660) == 0; // past the umask
  }

  std::variant<gpu_grant, AgentError> grant(const gpu_request& request) {
    return grant_gpus(request, host, "train-rep-1");
  }

  fs::path root = fs::temp_directory_path() / ("nv-gpu-" + std::to_string(::getpid()));
  gpu_host host;
};

#define NV_NEEDS_MKNOD()                                                                           \
  if (!device("probe", 1, 3))                                                                      \
    GTEST_SKIP() << "this machine does not let the test make device nodes (mknod needs root)";     \
  fs::remove(root / "dev/probe")

// The error of `got`, which the caller keeps alive.
template <class E>
const E& error_of(const std::variant<gpu_grant, AgentError>& got) {
  static const E none{};
  const auto* error = std::get_if<AgentError>(&got);
  EXPECT_NE(error, nullptr) << "granted";
  if (!error)
    return none;
  EXPECT_TRUE(std::holds_alternative<E>(*error)) << to_string(*error);
  const auto* e = std::get_if<E>(error);
  return e ? *e : none;
}

} // namespace

TEST_F(GpuDevices, NvidiaGpusAreGrantedInTheOrderOfTheirNumbersWithTheirControlDevices) {
  NV_NEEDS_MKNOD();
  ASSERT_TRUE(device("nvidia10", 195, 10));
  ASSERT_TRUE(device("nvidia2", 195, 2));
  ASSERT_TRUE(device("nvidiactl", 195, 255));
  ASSERT_TRUE(device("nvidia-uvm", 511, 0));
  ASSERT_TRUE(device("nvidia-capsule", 1, 3)); // not a GPU: its name goes on with letters
  std::ofstream{root / "dev/nvidia3"} << "a file, not a device";

  gpu_request two;
  two.count = 2;
  auto got = grant(two);
  ASSERT_TRUE(std::holds_alternative<gpu_grant>(got)) << to_string(std::get<AgentError>(got));
  const auto& g = std::get<gpu_grant>(got);
  std::vector<std::string> paths;
  for (const auto& d : g.devices)
    paths.push_back(d.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"/dev/nvidia2", "/dev/nvidia10", "/dev/nvidiactl",
                                             "/dev/nvidia-uvm"}));
  EXPECT_EQ(g.devices[0].host_path, (root / "dev/nvidia2").string());
  EXPECT_EQ(g.devices[0].major, 195);
  EXPECT_EQ(g.devices[0].minor, 2);
  EXPECT_EQ(g.devices[0].mode, 0660u);
  EXPECT_TRUE(g.mounts.empty());

  gpu_request one;
  got = grant(one);
  ASSERT_TRUE(std::holds_alternative<gpu_grant>(got));
  EXPECT_EQ(std::get<gpu_grant>(got).devices.front().path, "/dev/nvidia2");
  EXPECT_EQ(std::get<gpu_grant>(got).devices.size(), 3u);

  gpu_request three;
  three.count = 3;
  EXPECT_EQ(to_string(error_of<Unsupported>(grant(three))),
            "Operation not supported by this runtime: 'train-rep-1' asks for 3 nvidia GPUs "
            "(resources.gpu) and this node has 2 (" +
                host.dev +
                "/nvidia[0-9]*): lower resources.gpu.count, or run it on a node with more");
}

TEST_F(GpuDevices, ANodeWithoutTheVendorsGpuIsUnsupportedNamingWhatIsMissing) {
  gpu_request nvidia;
  EXPECT_EQ(to_string(error_of<Unsupported>(grant(nvidia))),
            "Operation not supported by this runtime: 'train-rep-1' asks for 1 nvidia GPU "
            "(resources.gpu) and this node has none (no " +
                host.dev +
                "/nvidia[0-9]*): install the nvidia driver here, or run it on a node "
                "with a GPU");
  gpu_request apple;
  apple.vendor = "apple";
  EXPECT_NE(to_string(error_of<Unsupported>(grant(apple))).find("only macOS nodes have"),
            std::string::npos);
}

TEST_F(GpuDevices, AnAmdGpuIsARenderNodeWithTheKfd) {
  NV_NEEDS_MKNOD();
  ASSERT_TRUE(device("dri/renderD128", 226, 128));
  gpu_request amd;
  amd.vendor = "amd";
  // A render node alone is not enough for AMD's compute.
  EXPECT_NE(to_string(error_of<Unsupported>(grant(amd))).find("/dri/renderD* with "),
            std::string::npos);
  ASSERT_TRUE(device("kfd", 235, 0));
  auto got = grant(amd);
  ASSERT_TRUE(std::holds_alternative<gpu_grant>(got)) << to_string(std::get<AgentError>(got));
  std::vector<std::string> paths;
  for (const auto& d : std::get<gpu_grant>(got).devices)
    paths.push_back(d.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"/dev/dri/renderD128", "/dev/kfd"}));
}

TEST_F(GpuDevices, AWsl2KernelNeedsDxgAndThenGetsItWithWindowsLibraries) {
  NV_NEEDS_MKNOD();
  set_kernel("Linux version 5.15.153.1-microsoft-standard-WSL2 (root@941d701f84f1)");
  ASSERT_TRUE(device("nvidia0", 195, 0)); // not what WSL2 serves GPUs through
  gpu_request nvidia;
  auto refused = grant(nvidia);
  const auto& wsl = error_of<WslGpuUnavailable>(refused);
  EXPECT_EQ(to_string(AgentError{wsl}),
            "GPU requested but WSL2 GPU support not available on this host: this is a WSL2 "
            "kernel (" +
                host.proc_version + " says Microsoft) and " + host.dev +
                "/dxg does not exist: install a Windows GPU driver with WSL support and run "
                "`wsl --update`, or run 'train-rep-1' without resources.gpu");

  ASSERT_TRUE(device("dxg", 10, 63));
  fs::create_directories(root / "wsl/lib");
  auto got = grant(nvidia);
  ASSERT_TRUE(std::holds_alternative<gpu_grant>(got)) << to_string(std::get<AgentError>(got));
  const auto& g = std::get<gpu_grant>(got);
  ASSERT_EQ(g.devices.size(), 1u);
  EXPECT_EQ(g.devices[0].path, "/dev/dxg");
  EXPECT_EQ(g.mounts, (std::vector<bind_mount>{{host.wsl_lib, "/usr/lib/wsl", true}}));
  EXPECT_EQ(g.env, (std::vector<std::pair<std::string, std::string>>{
                       {"LD_LIBRARY_PATH", "/usr/lib/wsl/lib"}}));
}

TEST_F(GpuDevices, MpsNeedsItsDaemonsDirectoriesAndMountsThem) {
  NV_NEEDS_MKNOD();
  ASSERT_TRUE(device("nvidia0", 195, 0));
  gpu_request mps;
  mps.sharing = gpu_sharing::mps;
  mps.mps_pipe_dir = (root / "mps").string();
  mps.mps_log_dir = (root / "mps-log").string();
  auto refused = grant(mps);
  const auto& missing = error_of<GpuSharingUnavailable>(refused);
  EXPECT_EQ(missing.mode, "mps");
  EXPECT_EQ(to_string(AgentError{missing}),
            "GPU sharing mode 'mps' is unavailable: the MPS pipe directory " + mps.mps_pipe_dir +
                " does not exist: start the MPS control daemon on this node "
                "(CUDA_MPS_PIPE_DIRECTORY=" +
                mps.mps_pipe_dir + " CUDA_MPS_LOG_DIRECTORY=" + mps.mps_log_dir +
                " nvidia-cuda-mps-control -d), or set resources.gpu.mps_pipe_dir to where it runs");
  fs::create_directories(mps.mps_pipe_dir);
  EXPECT_NE(error_of<GpuSharingUnavailable>(grant(mps)).reason.find("MPS log directory"),
            std::string::npos);
  fs::create_directories(mps.mps_log_dir);
  auto got = grant(mps);
  ASSERT_TRUE(std::holds_alternative<gpu_grant>(got)) << to_string(std::get<AgentError>(got));
  const auto& g = std::get<gpu_grant>(got);
  EXPECT_EQ(g.mounts, (std::vector<bind_mount>{{mps.mps_pipe_dir, mps.mps_pipe_dir, false},
                                               {mps.mps_log_dir, mps.mps_log_dir, false}}));
  EXPECT_EQ(g.env, (std::vector<std::pair<std::string, std::string>>{
                       {"CUDA_MPS_PIPE_DIRECTORY", mps.mps_pipe_dir},
                       {"CUDA_MPS_LOG_DIRECTORY", mps.mps_log_dir}}));
  // MPS is NVIDIA's.
  ASSERT_TRUE(device("dri/renderD128", 226, 128));
  mps.vendor = "intel";
  EXPECT_NE(error_of<GpuSharingUnavailable>(grant(mps)).reason.find("MPS is NVIDIA's"),
            std::string::npos);
}

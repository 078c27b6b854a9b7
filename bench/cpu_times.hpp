#pragma once

// CPU accounting for the benchmarks: this process, the whole machine and a local PostgreSQL's
// processes, read from getrusage and /proc around a measured phase.

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <string_view>

namespace portline::bench {

// CPU time, in ms: this process's (user + system), and the whole machine's busy time.
struct CpuTimes {
  double self_ms = 0;
  double machine_ms = 0;
  double postgres_ms = 0;  // every live process named "postgres" (a local server's backends)
};
inline double PostgresCpuMs() {
  double ms = 0;
  const double tick = 1000.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
  if (DIR* d = opendir("/proc"); d != nullptr) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') {
        continue;
      }
      const std::string path = std::string("/proc/") + e->d_name + "/stat";
      FILE* f = std::fopen(path.c_str(), "r");
      if (f == nullptr) {
        continue;
      }
      char buf[1024];
      const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
      std::fclose(f);
      buf[n] = '\0';
      const std::string_view line(buf, n);
      const auto open = line.find('(');
      const auto close = line.rfind(')');
      if (open == std::string_view::npos || close == std::string_view::npos ||
          line.substr(open + 1, close - open - 1) != "postgres") {
        continue;
      }
      // Fields after the command: state is field 3; utime and stime are fields 14 and 15.
      unsigned long long utime = 0;
      unsigned long long stime = 0;
      if (std::sscanf(buf + close + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                      &utime, &stime) == 2) {
        ms += static_cast<double>(utime + stime) * tick;
      }
    }
    closedir(d);
  }
  return ms;
}
inline CpuTimes ReadCpu() {
  CpuTimes t;
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  t.self_ms = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
              static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
  if (FILE* f = std::fopen("/proc/stat", "r"); f != nullptr) {
    unsigned long long v[8] = {};
    if (std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                    &v[4], &v[5], &v[6], &v[7]) == 8) {
      const double busy = static_cast<double>(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]);
      t.machine_ms = busy * 1000.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
    std::fclose(f);
  }
  t.postgres_ms = PostgresCpuMs();
  return t;
}

}  // namespace portline::bench

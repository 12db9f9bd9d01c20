// A VCD as GTKWave reads it (tests/rtl co-simulation trace, tests/sim cycle-level --vcd):
// header sections, scopes with variables, the end of definitions, then non-decreasing
// timestamps and value changes of declared identifiers only.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace hw::test {

inline void expect_well_formed_vcd(const std::string& path,
                                   const std::vector<std::string>& want_vars) {
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << path;
  std::string line;
  bool timescale = false, enddefs = false;
  int scopes = 0, upscopes = 0;
  std::set<std::string> ids, names;
  int64_t times = 0, changes = 0, last_time = -1;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string tok;
    ls >> tok;
    if (tok.empty()) continue;
    if (!enddefs) {
      if (tok == "$timescale") timescale = true;
      if (tok == "$scope") ++scopes;
      if (tok == "$upscope") ++upscopes;
      if (tok == "$var") {
        std::string type, width, id, name;
        ls >> type >> width >> id >> name;
        ids.insert(id);
        names.insert(name);
      }
      if (tok == "$enddefinitions") enddefs = true;
      continue;
    }
    if (tok[0] == '#') {
      const int64_t t = std::stoll(tok.substr(1));
      EXPECT_GE(t, last_time) << "time goes back: " << line;
      last_time = t;
      ++times;
    } else if (tok[0] == 'b' || tok[0] == 'r') {
      std::string id;
      ls >> id;
      EXPECT_TRUE(ids.count(id)) << "undeclared id in " << line;
      ++changes;
    } else if (tok[0] == '0' || tok[0] == '1' || tok[0] == 'x' || tok[0] == 'z') {
      EXPECT_TRUE(ids.count(tok.substr(1))) << "undeclared id in " << line;
      ++changes;
    }
  }
  EXPECT_TRUE(timescale);
  EXPECT_TRUE(enddefs);
  EXPECT_GT(scopes, 0);
  EXPECT_EQ(scopes, upscopes);
  EXPECT_GT(times, 10);
  EXPECT_GT(changes, 100);
  for (const std::string& v : want_vars) EXPECT_TRUE(names.count(v)) << "no signal " << v;
}

}  // namespace hw::test

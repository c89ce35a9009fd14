#include "services/common/auth/token.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace wangge::auth {
namespace {

using wangge::common::v1::ROLE_DEPARTMENT_HANDLER;
using wangge::common::v1::ROLE_SHIFT_LEADER;

const absl::Time kNow = absl::FromUnixSeconds(1795000000);

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Generates a key pair with the openssl command; returns {private, public}.
std::pair<std::string, std::string> KeyPair(const std::string& algo_args,
                                            const std::string& name) {
  const std::string dir = std::getenv("TEST_TMPDIR");
  const std::string priv = dir + "/" + name + ".key";
  const std::string pub = dir + "/" + name + ".pub";
  EXPECT_EQ(std::system(("openssl genpkey " + algo_args + " -out " + priv +
                         " 2>/dev/null")
                            .c_str()),
            0);
  EXPECT_EQ(std::system(
                ("openssl pkey -in " + priv + " -pubout -out " + pub).c_str()),
            0);
  return {ReadFile(priv), ReadFile(pub)};
}

Claims ShiftLeader() {
  Claims c;
  c.subject = "staff-7";
  c.role = ROLE_SHIFT_LEADER;
  c.audience = "wangge";
  c.expiry = kNow + absl::Hours(1);
  c.scopes = {"110101001"};
  return c;
}

class TokenTest : public ::testing::Test {
 protected:
  FakeClock clock_{kNow};
  TokenVerifier hs_{"HS256", "dev-secret", "wangge", &clock_};
};

TEST_F(TokenTest, ValidTokenVerifiesAndIsCached) {
  auto token = MintToken(ShiftLeader(), "HS256", "dev-secret");
  ASSERT_TRUE(token.ok()) << token.status();
  auto claims = hs_.Verify(*token);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->subject, "staff-7");
  EXPECT_EQ(claims->role, ROLE_SHIFT_LEADER);
  EXPECT_EQ(claims->scopes, std::vector<std::string>{"110101001"});
  EXPECT_EQ(hs_.cache_hits(), 0u);
  ASSERT_TRUE(hs_.Verify(*token).ok());
  EXPECT_EQ(hs_.cache_hits(), 1u);
}

TEST_F(TokenTest, MissingTokenIsUnauthenticated) {
  EXPECT_EQ(hs_.Verify("").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(hs_.Verify("not.a-token").status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(TokenTest, ExpiredTokenIsRefusedAlsoFromCache) {
  Claims c = ShiftLeader();
  c.expiry = kNow - absl::Seconds(1);
  EXPECT_EQ(hs_.Verify(*MintToken(c, "HS256", "dev-secret")).status().code(),
            absl::StatusCode::kUnauthenticated);
  auto fresh = *MintToken(ShiftLeader(), "HS256", "dev-secret");
  ASSERT_TRUE(hs_.Verify(fresh).ok());
  clock_.Advance(absl::Hours(2));
  EXPECT_EQ(hs_.Verify(fresh).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(TokenTest, WrongAudienceIsRefused) {
  Claims c = ShiftLeader();
  c.audience = "another-system";
  EXPECT_EQ(hs_.Verify(*MintToken(c, "HS256", "dev-secret")).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(TokenTest, WrongKeyIsRefused) {
  EXPECT_EQ(
      hs_.Verify(*MintToken(ShiftLeader(), "HS256", "other")).status().code(),
      absl::StatusCode::kUnauthenticated);
}

TEST_F(TokenTest, TamperedPayloadIsRefused) {
  std::string token = *MintToken(ShiftLeader(), "HS256", "dev-secret");
  Claims admin = ShiftLeader();
  admin.subject = "intruder";
  std::string forged = *MintToken(admin, "HS256", "other");
  // Header and signature of the real token around the forged payload.
  auto a = token.find('.'), b = token.rfind('.');
  auto fa = forged.find('.'), fb = forged.rfind('.');
  std::string spliced =
      token.substr(0, a) + forged.substr(fa, fb - fa) + token.substr(b);
  EXPECT_EQ(hs_.Verify(spliced).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(TokenTest, AlgNoneIsRefused) {
  std::string header =
      absl::WebSafeBase64Escape(R"({"alg":"none","typ":"JWT"})");
  std::string payload = absl::WebSafeBase64Escape(
      absl::StrCat(R"({"sub":"x","aud":"wangge","role":"administrator","exp":)",
                   absl::ToUnixSeconds(kNow + absl::Hours(1)), "}"));
  EXPECT_EQ(hs_.Verify(header + "." + payload + ".").status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(TokenTest, Rs256AndHs256SignedWithThePublicKeyAsSecret) {
  auto [priv, pub] =
      KeyPair("-algorithm RSA -pkeyopt rsa_keygen_bits:2048", "rsa");
  TokenVerifier rs("RS256", pub, "wangge", &clock_);
  auto good = MintToken(ShiftLeader(), "RS256", priv);
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_TRUE(rs.Verify(*good).ok());
  // The classic confusion attack: HMAC keyed with the public key.
  auto confused = MintToken(ShiftLeader(), "HS256", pub);
  ASSERT_TRUE(confused.ok());
  auto result = rs.Verify(*confused);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(result.status().message().find("pinned"), std::string::npos);
}

TEST_F(TokenTest, Es256Verifies) {
  auto [priv, pub] =
      KeyPair("-algorithm EC -pkeyopt ec_paramgen_curve:P-256", "ec");
  TokenVerifier es("ES256", pub, "wangge", &clock_);
  auto token = MintToken(ShiftLeader(), "ES256", priv);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_TRUE(es.Verify(*token).ok());
  auto [other_priv, other_pub] =
      KeyPair("-algorithm EC -pkeyopt ec_paramgen_curve:P-256", "ec2");
  EXPECT_FALSE(es.Verify(*MintToken(ShiftLeader(), "ES256", other_priv)).ok());
}

TEST_F(TokenTest, HandlerNeedsDepartment) {
  Claims c = ShiftLeader();
  c.role = ROLE_DEPARTMENT_HANDLER;
  EXPECT_FALSE(hs_.Verify(*MintToken(c, "HS256", "dev-secret")).ok());
  c.department = "dept-roads";
  auto ok = hs_.Verify(*MintToken(c, "HS256", "dev-secret"));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->department, "dept-roads");
}

TEST(ScopeTest, PrefixOnSignificantCodes) {
  EXPECT_TRUE(InScope({"110101"}, "110101001002"));
  EXPECT_TRUE(InScope({"510104", "110101001"}, "110101001002003"));
  EXPECT_FALSE(InScope({"110101001"}, "110101002001"));
  EXPECT_FALSE(InScope({}, "110101"));
  EXPECT_TRUE(InScope({"*"}, "510104"));
}

TEST(RoleTest, NamesRoundTrip) {
  EXPECT_EQ(*ParseRole("shift_leader"), ROLE_SHIFT_LEADER);
  EXPECT_EQ(RoleName(ROLE_SHIFT_LEADER), "shift_leader");
  EXPECT_FALSE(ParseRole("unspecified").ok());
  EXPECT_FALSE(ParseRole("king").ok());
}

}  // namespace
}  // namespace wangge::auth

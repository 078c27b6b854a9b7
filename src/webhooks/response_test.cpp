#include "webhooks/response.hpp"

#include <gtest/gtest.h>

namespace portline::webhooks {
namespace {

TEST(ResponseHead, ReadsStatusLengthChunkingAndConnection) {
  auto ok = ParseResponseHead("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nX: y");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 204);
  EXPECT_EQ(ok->content_length, 0);
  EXPECT_FALSE(ok->close);
  auto old = ParseResponseHead("HTTP/1.0 200 OK\r\nTransfer-Encoding: Chunked");
  ASSERT_TRUE(old);
  EXPECT_TRUE(old->close);  // HTTP/1.0 without keep-alive
  EXPECT_TRUE(old->chunked);
  auto kept = ParseResponseHead("HTTP/1.0 200 OK\r\nconnection: Keep-Alive");
  ASSERT_TRUE(kept);
  EXPECT_FALSE(kept->close);
  EXPECT_TRUE(ParseResponseHead("HTTP/1.1 200 OK\r\nConnection: close")->close);
  EXPECT_FALSE(ParseResponseHead("SIP/2.0 200 OK"));
  EXPECT_FALSE(ParseResponseHead("HTTP/1.1 2x0 OK"));
  EXPECT_FALSE(ParseResponseHead("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6"));
  EXPECT_FALSE(ParseResponseHead("HTTP/1.1 200 OK\r\nContent-Length: -1"));
  EXPECT_FALSE(ParseResponseHead("HTTP/1.1 200 OK\r\nno colon here"));
  for (const char* bad : {"", "HTTP/2 200 OK", "HTTP/1.1 099 Low"}) {
    EXPECT_FALSE(ParseResponseHead(bad)) << bad;
  }
}

TEST(Chunked, DecodesCompleteNeedsMoreAndInvalid) {
  struct Case {
    const char* in;
    ChunkedState state;
    const char* body;
  };
  const Case cases[] = {
      {"5\r\nhello\r\n0\r\n\r\n", ChunkedState::kComplete, "hello"},
      {"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n", ChunkedState::kComplete,
       "hello world"},
      {"5\r\nhel", ChunkedState::kNeedMore, ""},
      {"5\r\nhello\r\n0\r\n", ChunkedState::kNeedMore, "hello"},
      {"", ChunkedState::kNeedMore, ""},
      {"zz\r\nhello\r\n", ChunkedState::kInvalid, ""},
      {"5\r\nhelloXX0\r\n\r\n", ChunkedState::kInvalid, ""},
      {"5 junk\r\nhello\r\n", ChunkedState::kInvalid, ""},
  };
  for (const Case& c : cases) {
    const ChunkedBody out = DecodeChunked(c.in, 1024);
    EXPECT_EQ(out.state, c.state) << c.in;
    EXPECT_EQ(out.body, c.body) << c.in;
  }
}

TEST(Chunked, StopsAtTheBodyLimit) {
  EXPECT_EQ(DecodeChunked("4\r\nabcd\r\n0\r\n\r\n", 4).state, ChunkedState::kComplete);
  EXPECT_EQ(DecodeChunked("4\r\nabcd\r\n1\r\ne\r\n0\r\n\r\n", 4).state, ChunkedState::kInvalid);
  EXPECT_EQ(DecodeChunked("ffffffffffffffffff\r\n", 4).state, ChunkedState::kInvalid);
  EXPECT_EQ(DecodeChunked(std::string(2000, '1'), 4).state, ChunkedState::kInvalid);
}

}  // namespace
}  // namespace portline::webhooks

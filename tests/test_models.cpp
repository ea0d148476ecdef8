// test_models.cpp: every model decoded from and encoded to its JSON, compared and printed.
// SPDX-License-Identifier: MIT
#include "bluejeans_auth.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace bj = bluejeans::auth;
using nlohmann::json;

template <class M>
M decode(const char* text) {
  return json::parse(text).get<M>();
}

// The message of the DecodeError that decoding `text` as M raises, or "" if none does.
template <class M>
std::string decode_failure(const char* text) {
  try {
    (void)json::parse(text).get<M>();
  } catch (const bj::DecodeError& e) {
    CHECK(e.kind() == bj::ErrorKind::decode);
    CHECK(e.error().operation.empty());
    return e.what();
  }
  return "";
}

template <class M>
std::string printed(const M& model) {
  std::ostringstream out;
  out << model;
  return out.str();
}

// Each change must make a copy of `full` compare unequal to it.
template <class M>
void check_every_field_counts(const M& full, const std::vector<std::function<void(M&)>>& changes) {
  CHECK(full == full);
  CHECK_FALSE(full != full);
  for (std::size_t i = 0; i < changes.size(); ++i) {
    CAPTURE(i);
    M changed = full;
    changes[i](changed);
    CHECK_FALSE(changed == full);
    CHECK(changed != full);
  }
}

bj::Partition partition_z1() { return {1, "z1"}; }

const char* const meeting_reply_json = R"({
  "access_token": "meeting-token-0123456789abcdef",
  "expires_in": 3600,
  "scope": {
    "meeting": {
      "id": 77,
      "leaderId": 4242,
      "meetingNumericId": "1234567890",
      "meetingUri": "/v1/user/4242/live_meetings/1234567890",
      "isModerator": true,
      "endpointUriSet": [{"uri": "sip:1234567890@bjn.vc"}, {}],
      "meetingId": "m-77"
    },
    "partitionName": "z1",
    "partition": {"id": 1, "name": "z1"}
  }
})";

}  // namespace

TEST_CASE("request models default their grant_type and encode every key") {
  SUBCASE("GrantRequestClient") {
    const bj::GrantRequestClient request{bj::GrantRequestClient{}.grant_type, "app", "s3cret"};
    CHECK(bj::GrantRequestClient{}.grant_type == "client_credentials");
    CHECK(json(request) ==
          json::parse(R"({"grant_type":"client_credentials","client_id":"app",
                          "client_secret":"s3cret"})"));
  }
  SUBCASE("GrantRequestPassword") {
    bj::GrantRequestPassword request;
    request.username = "alice";
    request.password = "pw";
    CHECK(request.grant_type == "password");
    CHECK(json(request) ==
          json::parse(R"({"grant_type":"password","username":"alice","password":"pw"})"));
  }
  SUBCASE("GrantRequestMeeting uses meetingNumericId and meetingPasscode") {
    bj::GrantRequestMeeting request;
    request.meeting_numeric_id = "1234567890";
    request.meeting_passcode = "4321";
    CHECK(request.grant_type == "meeting_passcode");
    CHECK(json(request).dump() ==
          R"({"grant_type":"meeting_passcode","meetingNumericId":"1234567890",)"
          R"("meetingPasscode":"4321"})");
  }
  SUBCASE("empty strings are still encoded, because every request field is required") {
    CHECK(json(bj::GrantRequestClient{"", "", ""}) ==
          json::parse(R"({"grant_type":"","client_id":"","client_secret":""})"));
  }
}

TEST_CASE("request models decode, round trip and name a missing required field") {
  SUBCASE("every request model round trips") {
    const bj::GrantRequestClient client{"client_credentials", "app", "s3cret"};
    const bj::GrantRequestPassword password{"password", "alice", "pw"};
    const bj::GrantRequestMeeting meeting{"meeting_passcode", "1234567890", "4321"};
    CHECK(json(client).get<bj::GrantRequestClient>() == client);
    CHECK(json(password).get<bj::GrantRequestPassword>() == password);
    CHECK(json(meeting).get<bj::GrantRequestMeeting>() == meeting);
  }
  SUBCASE("decoding reads the camelCase keys") {
    const auto meeting = decode<bj::GrantRequestMeeting>(
        R"({"grant_type":"meeting_passcode","meetingNumericId":"12","meetingPasscode":"34"})");
    CHECK(meeting.meeting_numeric_id == "12");
    CHECK(meeting.meeting_passcode == "34");
  }
  SUBCASE("a missing or null required field is named") {
    CHECK(decode_failure<bj::GrantRequestClient>(
              R"({"grant_type":"client_credentials","client_id":"app"})") ==
          "client_secret: required field is missing");
    CHECK(decode_failure<bj::GrantRequestClient>(
              R"({"grant_type":"client_credentials","client_id":null,"client_secret":"s"})") ==
          "client_id: required field is missing");
    CHECK(decode_failure<bj::GrantRequestPassword>("{}") ==
          "grant_type: required field is missing");
    CHECK(decode_failure<bj::GrantRequestMeeting>(
              R"({"grant_type":"meeting_passcode","meetingNumericId":"12"})") ==
          "meetingPasscode: required field is missing");
    CHECK(decode_failure<bj::GrantRequestMeeting>(
              R"({"grant_type":"meeting_passcode","meeting_numeric_id":"12",
                  "meetingPasscode":"34"})") == "meetingNumericId: required field is missing");
  }
  SUBCASE("a required field of the wrong type is named") {
    CHECK(decode_failure<bj::GrantRequestPassword>(
              R"({"grant_type":"password","username":7,"password":"pw"})") ==
          "username: expected string, got number");
  }
}

TEST_CASE("GrantClient decodes every key, ignores unknown ones and round trips") {
  const auto grant = decode<bj::GrantClient>(R"({
    "access_token": "client-token-0123456789abcdef", "expires_in": 3600,
    "token_type": "bearer",
    "scope": {"enterprise": 7, "partitionName": "z1", "partition": {"id": 1, "name": "z1"},
              "extra": [1, 2]}})");

  CHECK(grant.access_token == "client-token-0123456789abcdef");
  CHECK(grant.expires_in == 3600);
  REQUIRE(grant.scope);
  CHECK(grant.scope->enterprise == 7);
  CHECK(grant.scope->partition_name == "z1");
  CHECK(grant.scope->partition == partition_z1());

  SUBCASE("encoding writes the known keys back, camelCase and all") {
    CHECK(json(grant) == json::parse(R"({
      "access_token": "client-token-0123456789abcdef", "expires_in": 3600,
      "scope": {"enterprise": 7, "partitionName": "z1", "partition": {"id": 1, "name": "z1"}}})"));
  }
  SUBCASE("a round trip gives an equal model") {
    CHECK(json(grant).get<bj::GrantClient>() == grant);
  }
}

TEST_CASE("GrantPassword decodes every key and round trips") {
  const auto grant = decode<bj::GrantPassword>(R"({
    "access_token": "password-token-0123456789abcdef", "expires_in": 60,
    "refresh_token": "refresh-token-0123456789abcdef",
    "scope": {"user": 4242, "partitionName": "z1", "partition": {"id": 1, "name": "z1"}}})");

  CHECK(grant.access_token == "password-token-0123456789abcdef");
  CHECK(grant.expires_in == 60);
  CHECK(grant.refresh_token == "refresh-token-0123456789abcdef");
  REQUIRE(grant.scope);
  CHECK(grant.scope->user == 4242);
  CHECK(grant.scope->partition_name == "z1");
  CHECK(grant.scope->partition == partition_z1());
  CHECK(json(grant).get<bj::GrantPassword>() == grant);
  CHECK(json(grant)["scope"].contains("partitionName"));
  CHECK_FALSE(json(grant)["scope"].contains("partition_name"));
}

TEST_CASE("GrantMeeting decodes every key of its meeting scope and round trips") {
  const auto grant = decode<bj::GrantMeeting>(meeting_reply_json);

  CHECK(grant.access_token == "meeting-token-0123456789abcdef");
  CHECK(grant.expires_in == 3600);
  REQUIRE(grant.scope);
  CHECK(grant.scope->partition_name == "z1");
  CHECK(grant.scope->partition == partition_z1());
  REQUIRE(grant.scope->meeting);
  const bj::GrantMeetingScopeMeeting& meeting = *grant.scope->meeting;
  CHECK(meeting.id == 77);
  CHECK(meeting.leader_id == 4242);
  CHECK(meeting.meeting_numeric_id == "1234567890");
  CHECK(meeting.meeting_uri == "/v1/user/4242/live_meetings/1234567890");
  CHECK(meeting.is_moderator == true);
  REQUIRE(meeting.endpoint_uri_set);
  CHECK(*meeting.endpoint_uri_set ==
        std::vector<json>{json{{"uri", "sip:1234567890@bjn.vc"}}, json::object()});
  CHECK(meeting.meeting_id == "m-77");

  CHECK(json(grant) == json::parse(meeting_reply_json));
  CHECK(json(grant).get<bj::GrantMeeting>() == grant);
}

TEST_CASE("the small reply models decode and encode") {
  SUBCASE("InlineResponse200, also called TokenInfo") {
    static_assert(std::is_same_v<bj::TokenInfo, bj::InlineResponse200>);
    const auto info = decode<bj::TokenInfo>(R"({"user": 4242, "scope": "ignored"})");
    CHECK(info.user == 4242);
    CHECK(json(info) == json::parse(R"({"user": 4242})"));
  }
  SUBCASE("Error") {
    const auto error = decode<bj::Error>(R"({"message": "Invalid client", "code": 401})");
    CHECK(error.message == "Invalid client");
    CHECK(json(error).dump() == R"({"message":"Invalid client"})");
  }
  SUBCASE("Partition") {
    const auto partition = decode<bj::Partition>(R"({"id": -3, "name": ""})");
    CHECK(partition.id == -3);
    CHECK(partition.name == "");
    CHECK(json(partition).dump() == R"({"id":-3,"name":""})");
  }
}

TEST_CASE("null counts as absent and empty objects decode to empty models") {
  SUBCASE("null fields are absent at every level") {
    const auto grant = decode<bj::GrantMeeting>(R"({
      "access_token": null, "expires_in": null,
      "scope": {"meeting": {"id": null, "leaderId": null, "meetingNumericId": null,
                            "meetingUri": null, "isModerator": null, "endpointUriSet": null,
                            "meetingId": null},
                "partitionName": null, "partition": null}})");
    CHECK_FALSE(grant.access_token);
    CHECK_FALSE(grant.expires_in);
    REQUIRE(grant.scope);
    CHECK_FALSE(grant.scope->partition_name);
    CHECK_FALSE(grant.scope->partition);
    REQUIRE(grant.scope->meeting);
    CHECK(*grant.scope->meeting == bj::GrantMeetingScopeMeeting{});
  }
  SUBCASE("a null scope is no scope") {
    CHECK_FALSE(decode<bj::GrantClient>(R"({"scope": null})").scope);
    CHECK_FALSE(decode<bj::GrantPassword>(R"({"scope": null})").scope);
  }
  SUBCASE("empty objects") {
    CHECK(decode<bj::GrantClient>("{}") == bj::GrantClient{});
    CHECK(decode<bj::GrantPassword>("{}") == bj::GrantPassword{});
    CHECK(decode<bj::GrantMeeting>("{}") == bj::GrantMeeting{});
    CHECK(decode<bj::GrantClientScope>("{}") == bj::GrantClientScope{});
    CHECK(decode<bj::GrantPasswordScope>("{}") == bj::GrantPasswordScope{});
    CHECK(decode<bj::GrantMeetingScope>("{}") == bj::GrantMeetingScope{});
    CHECK(decode<bj::GrantMeetingScopeMeeting>("{}") == bj::GrantMeetingScopeMeeting{});
    CHECK(decode<bj::Partition>("{}") == bj::Partition{});
    CHECK(decode<bj::TokenInfo>("{}") == bj::TokenInfo{});
    CHECK(decode<bj::Error>("{}") == bj::Error{});
    CHECK(decode<bj::GrantClient>(R"({"scope": {}})").scope == bj::GrantClientScope{});
  }
  SUBCASE("absent fields are left out when encoding") {
    CHECK(json(bj::GrantMeeting{}).dump() == "{}");
    CHECK(json(bj::GrantMeetingScopeMeeting{}).dump() == "{}");
    bj::GrantClient grant;
    grant.expires_in = 0;
    CHECK(json(grant).dump() == R"({"expires_in":0})");
  }
  SUBCASE("decoding into a used model clears the fields the JSON lacks") {
    bj::Partition partition = partition_z1();
    json::parse(R"({"name": "z2"})").get_to(partition);
    CHECK_FALSE(partition.id);
    CHECK(partition.name == "z2");
  }
}

TEST_CASE("a value of the wrong type is an error that names its path") {
  SUBCASE("top-level fields") {
    CHECK(decode_failure<bj::GrantClient>(R"({"access_token": 12})") ==
          "access_token: expected string, got number");
    CHECK(decode_failure<bj::GrantClient>(R"({"expires_in": "3600"})") ==
          "expires_in: expected integer, got string");
    CHECK(decode_failure<bj::GrantPassword>(R"({"refresh_token": true})") ==
          "refresh_token: expected string, got boolean");
    CHECK(decode_failure<bj::GrantClient>(R"({"scope": "all"})") ==
          "scope: expected object, got string");
    CHECK(decode_failure<bj::TokenInfo>(R"({"user": [1]})") ==
          "user: expected integer, got array");
    CHECK(decode_failure<bj::Error>(R"({"message": {}})") ==
          "message: expected string, got object");
  }
  SUBCASE("nested fields name the whole path") {
    CHECK(decode_failure<bj::GrantClient>(R"({"scope": {"partition": {"id": "1"}}})") ==
          "scope.partition.id: expected integer, got string");
    CHECK(decode_failure<bj::GrantPassword>(R"({"scope": {"partitionName": 5}})") ==
          "scope.partitionName: expected string, got number");
    CHECK(decode_failure<bj::GrantPassword>(R"({"scope": {"user": "4242"}})") ==
          "scope.user: expected integer, got string");
    CHECK(decode_failure<bj::GrantClient>(R"({"scope": {"enterprise": false}})") ==
          "scope.enterprise: expected integer, got boolean");
    CHECK(decode_failure<bj::GrantMeeting>(R"({"scope": {"meeting": {"isModerator": 1}}})") ==
          "scope.meeting.isModerator: expected boolean, got number");
    CHECK(decode_failure<bj::GrantMeeting>(R"({"scope": {"meeting": {"leaderId": 1.5}}})") ==
          "scope.meeting.leaderId: expected integer, got number");
    CHECK(decode_failure<bj::GrantMeeting>(
              R"({"scope": {"meeting": {"meetingNumericId": 1234567890}}})") ==
          "scope.meeting.meetingNumericId: expected string, got number");
    CHECK(decode_failure<bj::GrantMeeting>(R"({"scope": {"meeting": {"meetingUri": []}}})") ==
          "scope.meeting.meetingUri: expected string, got array");
    CHECK(decode_failure<bj::GrantMeeting>(R"({"scope": {"meeting": {"meetingId": 77}}})") ==
          "scope.meeting.meetingId: expected string, got number");
    CHECK(decode_failure<bj::GrantMeeting>(R"({"scope": {"meeting": []}})") ==
          "scope.meeting: expected object, got array");
    CHECK(decode_failure<bj::GrantMeeting>(R"({"scope": {"partition": {"name": 1}}})") ==
          "scope.partition.name: expected string, got number");
  }
  SUBCASE("array elements are named by index") {
    CHECK(decode_failure<bj::GrantMeeting>(
              R"({"scope": {"meeting": {"endpointUriSet": [{}, 3]}}})") ==
          "scope.meeting.endpointUriSet[1]: expected object, got number");
    CHECK(decode_failure<bj::GrantMeetingScopeMeeting>(R"({"endpointUriSet": ["sip:x"]})") ==
          "endpointUriSet[0]: expected object, got string");
    CHECK(decode_failure<bj::GrantMeetingScopeMeeting>(R"({"endpointUriSet": {}})") ==
          "endpointUriSet: expected array, got object");
  }
  SUBCASE("a document that is not an object") {
    CHECK(decode_failure<bj::GrantClient>("[]") == "expected object, got array");
    CHECK(decode_failure<bj::GrantClient>("null") == "expected object, got null");
    CHECK(decode_failure<bj::TokenInfo>("42") == "expected object, got number");
  }
}

TEST_CASE("integers are 64-bit and an integer beyond that range is refused") {
  CHECK(decode<bj::TokenInfo>(R"({"user": 9223372036854775807})").user == INT64_MAX);
  CHECK(decode<bj::TokenInfo>(R"({"user": -9223372036854775808})").user == INT64_MIN);
  CHECK(decode_failure<bj::TokenInfo>(R"({"user": 9223372036854775808})") ==
        "user: integer out of range");
  CHECK(decode_failure<bj::GrantClient>(
            R"({"scope": {"partition": {"id": 18446744073709551615}}})") ==
        "scope.partition.id: integer out of range");
  // nlohmann parses integers below INT64_MIN as floating point numbers.
  CHECK(decode_failure<bj::TokenInfo>(R"({"user": -9223372036854775809})") ==
        "user: expected integer, got number");
  CHECK(decode_failure<bj::TokenInfo>(R"({"user": 1e3})") ==
        "user: expected integer, got number");
}

TEST_CASE("equality looks at every field of every model") {
  check_every_field_counts<bj::Partition>(partition_z1(), {
      [](bj::Partition& m) { m.id = 2; },
      [](bj::Partition& m) { m.id.reset(); },
      [](bj::Partition& m) { m.name = "z2"; },
  });
  check_every_field_counts<bj::GrantRequestClient>({"client_credentials", "a", "s"}, {
      [](bj::GrantRequestClient& m) { m.grant_type = "password"; },
      [](bj::GrantRequestClient& m) { m.client_id = "b"; },
      [](bj::GrantRequestClient& m) { m.client_secret = "t"; },
  });
  check_every_field_counts<bj::GrantRequestPassword>({"password", "alice", "pw"}, {
      [](bj::GrantRequestPassword& m) { m.grant_type = "x"; },
      [](bj::GrantRequestPassword& m) { m.username = "bob"; },
      [](bj::GrantRequestPassword& m) { m.password = "pw2"; },
  });
  check_every_field_counts<bj::GrantRequestMeeting>({"meeting_passcode", "12", "34"}, {
      [](bj::GrantRequestMeeting& m) { m.grant_type = "x"; },
      [](bj::GrantRequestMeeting& m) { m.meeting_numeric_id = "13"; },
      [](bj::GrantRequestMeeting& m) { m.meeting_passcode = "35"; },
  });
  check_every_field_counts<bj::GrantClientScope>({7, "z1", partition_z1()}, {
      [](bj::GrantClientScope& m) { m.enterprise = 8; },
      [](bj::GrantClientScope& m) { m.partition_name = "z2"; },
      [](bj::GrantClientScope& m) { m.partition->name = "z2"; },
  });
  check_every_field_counts<bj::GrantClient>({"tok", 60, bj::GrantClientScope{7, {}, {}}}, {
      [](bj::GrantClient& m) { m.access_token = "tok2"; },
      [](bj::GrantClient& m) { m.expires_in = 61; },
      [](bj::GrantClient& m) { m.scope->enterprise = 8; },
  });
  check_every_field_counts<bj::GrantPasswordScope>({4242, "z1", partition_z1()}, {
      [](bj::GrantPasswordScope& m) { m.user = 1; },
      [](bj::GrantPasswordScope& m) { m.partition_name.reset(); },
      [](bj::GrantPasswordScope& m) { m.partition->id = 9; },
  });
  check_every_field_counts<bj::GrantPassword>(
      {"tok", 60, "refresh", bj::GrantPasswordScope{1, {}, {}}}, {
          [](bj::GrantPassword& m) { m.access_token = "tok2"; },
          [](bj::GrantPassword& m) { m.expires_in = 61; },
          [](bj::GrantPassword& m) { m.refresh_token = "refresh2"; },
          [](bj::GrantPassword& m) { m.scope->user = 2; },
      });
  const auto meeting = decode<bj::GrantMeeting>(meeting_reply_json);
  check_every_field_counts<bj::GrantMeetingScopeMeeting>(*meeting.scope->meeting, {
      [](bj::GrantMeetingScopeMeeting& m) { m.id = 78; },
      [](bj::GrantMeetingScopeMeeting& m) { m.leader_id = 1; },
      [](bj::GrantMeetingScopeMeeting& m) { m.meeting_numeric_id = "1"; },
      [](bj::GrantMeetingScopeMeeting& m) { m.meeting_uri = "/"; },
      [](bj::GrantMeetingScopeMeeting& m) { m.is_moderator = false; },
      [](bj::GrantMeetingScopeMeeting& m) { m.endpoint_uri_set->pop_back(); },
      [](bj::GrantMeetingScopeMeeting& m) { m.meeting_id = "m-78"; },
  });
  check_every_field_counts<bj::GrantMeetingScope>(*meeting.scope, {
      [](bj::GrantMeetingScope& m) { m.meeting->id = 1; },
      [](bj::GrantMeetingScope& m) { m.partition_name = "z2"; },
      [](bj::GrantMeetingScope& m) { m.partition.reset(); },
  });
  check_every_field_counts<bj::GrantMeeting>(meeting, {
      [](bj::GrantMeeting& m) { m.access_token = "other"; },
      [](bj::GrantMeeting& m) { m.expires_in.reset(); },
      [](bj::GrantMeeting& m) { m.scope->meeting->is_moderator.reset(); },
  });
  check_every_field_counts<bj::TokenInfo>(bj::TokenInfo{4242}, {
      [](bj::TokenInfo& m) { m.user = 4243; },
      [](bj::TokenInfo& m) { m.user.reset(); },
  });
  check_every_field_counts<bj::Error>(bj::Error{"Invalid client"}, {
      [](bj::Error& m) { m.message = "Invalid token"; },
      [](bj::Error& m) { m.message.reset(); },
  });
}

TEST_CASE("operator<< prints a model for people") {
  SUBCASE("plain fields are printed whole, absent ones are left out") {
    CHECK(printed(partition_z1()) == R"(Partition{id: 1, name: "z1"})");
    CHECK(printed(bj::Partition{}) == "Partition{}");
    CHECK(printed(bj::TokenInfo{4242}) == "InlineResponse200{user: 4242}");
    CHECK(printed(bj::Error{"Invalid \"client\"\n"}) ==
          R"(Error{message: "Invalid \"client\"\n"})");
  }
  SUBCASE("nested models, booleans and arrays") {
    const auto meeting = decode<bj::GrantMeeting>(meeting_reply_json);
    CHECK(printed(meeting) ==
          "GrantMeeting{access_token: \"meet...\" (30 characters), expires_in: 3600, "
          "scope: GrantMeetingScope{meeting: GrantMeetingScopeMeeting{id: 77, leaderId: 4242, "
          "meetingNumericId: \"1234567890\", "
          "meetingUri: \"/v1/user/4242/live_meetings/1234567890\", isModerator: true, "
          "endpointUriSet: [{\"uri\":\"sip:1234567890@bjn.vc\"},{}], meetingId: \"m-77\"}, "
          "partitionName: \"z1\", partition: Partition{id: 1, name: \"z1\"}}}");
  }
  SUBCASE("request credentials show as a length only") {
    const bj::GrantRequestClient client{"client_credentials", "app", "super-secret-value"};
    CHECK(printed(client) ==
          "GrantRequestClient{client_id: \"app\", client_secret: <secret, 18 characters>, "
          "grant_type: \"client_credentials\"}");
    const bj::GrantRequestPassword password{"password", "alice", "hunter2-hunter2"};
    CHECK(printed(password) ==
          "GrantRequestPassword{grant_type: \"password\", password: <secret, 15 characters>, "
          "username: \"alice\"}");
    const bj::GrantRequestMeeting meeting{"meeting_passcode", "1234567890", "4321"};
    CHECK(printed(meeting) ==
          "GrantRequestMeeting{grant_type: \"meeting_passcode\", "
          "meetingNumericId: \"1234567890\", meetingPasscode: <secret, 4 characters>}");
  }
  SUBCASE("tokens show as a short prefix and a length, short tokens as a length only") {
    bj::GrantPassword grant;
    grant.access_token = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    grant.refresh_token = "short-refresh";
    grant.scope = bj::GrantPasswordScope{4242, {}, {}};
    const std::string text = printed(grant);
    CHECK(text ==
          "GrantPassword{access_token: \"ABCD...\" (26 characters), "
          "refresh_token: <secret, 13 characters>, scope: GrantPasswordScope{user: 4242}}");
    CHECK(text.find("ABCDEFGHIJKLMNOPQRSTUVWXYZ") == std::string::npos);
    CHECK(text.find("short-refresh") == std::string::npos);

    bj::GrantClient client;
    client.access_token = "client-token-0123456789abcdef";
    CHECK(printed(client) == "GrantClient{access_token: \"clie...\" (29 characters)}");
  }
  SUBCASE("no secret of any model is printed whole") {
    const std::string secret = "SECRET-0123456789-SECRET";
    const std::vector<std::string> texts = {
        printed(bj::GrantRequestClient{"client_credentials", "app", secret}),
        printed(bj::GrantRequestPassword{"password", "alice", secret}),
        printed(bj::GrantRequestMeeting{"meeting_passcode", "12", secret}),
        printed(bj::GrantClient{secret, {}, {}}),
        printed(bj::GrantPassword{secret, {}, secret, {}}),
        printed(bj::GrantMeeting{secret, {}, {}}),
    };
    for (const auto& text : texts) {
      CAPTURE(text);
      CHECK(text.find(secret) == std::string::npos);
      CHECK(text.find("0123456789") == std::string::npos);
    }
  }
}

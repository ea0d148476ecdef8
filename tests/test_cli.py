#!/usr/bin/env python3
# test_cli.py: runs bluejeans-auth and bluejeans-auth-emulator as processes and checks them.
# SPDX-License-Identifier: MIT
#
# Usage: test_cli.py PATH/TO/bluejeans-auth PATH/TO/bluejeans-auth-emulator

import json
import os
import re
import resource
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

CLI = ""
EMULATOR = ""

CLIENT_SECRET = "emulator-client-secret"
PASSWORD = "alice-password"
MODERATOR_PASSCODE = "moderator-1234"
ATTENDEE_PASSCODE = "attendee-5678"
INPUT_SECRETS = [CLIENT_SECRET, PASSWORD, MODERATOR_PASSCODE, ATTENDEE_PASSCODE,
                 "a-wrong-secret"]
TOKEN = re.compile(r"\b[0-9a-f]{40}\b")

MIB = 1 << 20

# Under scripts/check-asan the programs are sanitized: the settings that make a report fail
# the run must reach them through the bare environments the tests give them.
SANITIZER_SETTINGS = {name: value for name, value in os.environ.items()
                      if name in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
                                  "TSAN_OPTIONS")}


def no_room_for_a_thread():
    """Runs in the child before exec: glibc reserves each new thread's stack at the soft
    RLIMIT_STACK, so a 1 GiB stack limit under a 256 MiB address space lets the program load
    and run but not start a thread."""
    resource.setrlimit(resource.RLIMIT_STACK,
                       (1024 * MIB, resource.getrlimit(resource.RLIMIT_STACK)[1]))
    resource.setrlimit(resource.RLIMIT_AS, (256 * MIB, resource.getrlimit(resource.RLIMIT_AS)[1]))


class Emulator:
    """bluejeans-auth-emulator on a free port, stopped with SIGTERM."""

    def __init__(self, *args):
        self.process = subprocess.Popen([EMULATOR, "--port", "0", *args],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
        ready, _, _ = select.select([self.process.stdout], [], [], 20)
        line = self.process.stdout.readline() if ready else ""
        match = re.fullmatch(r"bluejeans-auth-emulator: listening on (http://\S+)\n", line)
        if not match:
            self.process.kill()
            self.process.wait(10)
            raise AssertionError(f"emulator did not announce its address: {line!r}")
        self.url = match.group(1)
        self.log = ""

    def admin(self, method, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + "/_emulator/faults", data=data,
                                         method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as reply:
            return json.load(reply)

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        _, self.log = self.process.communicate(timeout=20)
        return self.process.returncode


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CliTest(unittest.TestCase):
    outputs = []  # every stdout and stderr, for the secret scan

    @classmethod
    def setUpClass(cls):
        cls.emulator = Emulator("--token-lifetime", "120")

    @classmethod
    def tearDownClass(cls):
        code = cls.emulator.stop()
        assert code == 0, f"emulator exited {code}"
        CliTest.outputs.append(cls.emulator.log)

    def run_cli(self, *args, env=None, stdin="", host=None, timeout="10", preexec_fn=None):
        environment = {"PATH": os.environ.get("PATH", ""), **SANITIZER_SETTINGS}
        environment.update(env or {})
        command = [CLI, "--host", host or self.emulator.url, "--timeout", timeout,
                   "--attempts", "1", *args]
        result = subprocess.run(command, input=stdin, capture_output=True, text=True,
                                env=environment, timeout=60, preexec_fn=preexec_fn)
        CliTest.outputs.extend([result.stdout, result.stderr])
        return result

    def client(self, *args, secret=CLIENT_SECRET, **kwargs):
        env = {"BLUEJEANS_CLIENT_ID": "emulator-client", "BLUEJEANS_CLIENT_SECRET": secret}
        return self.run_cli("client", *args, env=env, **kwargs)

    # ---- success

    def test_client_grant_prints_the_reply_as_the_apis_json(self):
        result = self.client()
        self.assertEqual(result.returncode, 0, result.stderr)
        reply = json.loads(result.stdout)
        self.assertRegex(reply["access_token"], r"^[0-9a-f]{40}$")
        self.assertEqual(reply["expires_in"], 120)
        self.assertEqual(reply["scope"]["enterprise"], 1001)
        self.assertEqual(reply["scope"]["partition"], {"id": 1, "name": "emulator"})
        self.assertEqual(result.stderr, "")

    def test_token_only_prints_the_bare_token_that_token_info_accepts(self):
        result = self.client("--token-only")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout, r"^[0-9a-f]{40}\n$")

        token = result.stdout.strip()
        info = self.run_cli("token-info", env={"BLUEJEANS_ACCESS_TOKEN": token})
        self.assertEqual(info.returncode, 0, info.stderr)
        self.assertEqual(json.loads(info.stdout), {"user": 1002})
        self.assertNotIn(token, info.stdout + info.stderr)

    def test_password_grant_reads_the_password_from_stdin(self):
        result = self.run_cli("password", "--username", "alice", "--secret-stdin",
                              stdin=PASSWORD + "\n")
        self.assertEqual(result.returncode, 0, result.stderr)
        reply = json.loads(result.stdout)
        self.assertRegex(reply["refresh_token"], r"^[0-9a-f]{40}$")
        self.assertEqual(reply["scope"]["user"], 2001)

    def test_meeting_grant_reads_the_passcode_from_a_file(self):
        for passcode, moderator in [(MODERATOR_PASSCODE, True), (ATTENDEE_PASSCODE, False)]:
            with tempfile.NamedTemporaryFile("w", suffix=".secret") as file:
                file.write(passcode + "\n")
                file.flush()
                result = self.run_cli("meeting", "--meeting-id", "111222333",
                                      "--secret-file", file.name)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIs(json.loads(result.stdout)["scope"]["meeting"]["isModerator"],
                          moderator)

    def test_demo_runs_every_operation_and_a_fault_plan(self):
        result = self.run_cli("demo")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        for expected in ["1. get_token_by_client", "2. get_token_by_password",
                         "3. get_token_by_meeting", "4. get_token_info",
                         "isModerator true", "isModerator false",
                         "server answered 503: injected fault: status 503",
                         "Retry-After: 2 s", "failed reading the reply",
                         "faults served: 2", "all four operations worked"]:
            self.assertIn(expected, result.stdout)
        self.assertIsNone(TOKEN.search(result.stdout), "the demo printed a whole token")

    # ---- failures and exit codes

    def test_wrong_credentials_exit_3_with_the_servers_message(self):
        result = self.client(secret="a-wrong-secret")
        self.assertEqual(result.returncode, 3)
        self.assertEqual(result.stdout, "")
        self.assertEqual(result.stderr, "bluejeans-auth: get_token_by_client: server answered "
                                        "401: invalid client credentials\n")

    def test_an_unknown_token_exits_3(self):
        result = self.run_cli("token-info", env={"BLUEJEANS_ACCESS_TOKEN": "f" * 40})
        self.assertEqual(result.returncode, 3)
        self.assertNotIn("f" * 40, result.stderr)

    def test_a_missing_secret_is_a_usage_error(self):
        result = self.run_cli("client", "--client-id", "emulator-client")
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stderr, "bluejeans-auth: no client secret: set "
                                        "BLUEJEANS_CLIENT_SECRET, or use --secret-file FILE "
                                        "or --secret-stdin\n")

    def test_bad_arguments_are_usage_errors(self):
        self.assertEqual(self.run_cli().returncode, 2)
        self.assertEqual(self.run_cli("client", "--no-such-option").returncode, 2)
        self.assertEqual(self.run_cli("password").returncode, 2)  # --username is required

    def test_every_subcommand_has_help(self):
        for command, option in [("client", "--client-id"), ("password", "--username"),
                                ("meeting", "--meeting-id"), ("token-info", "--secret-file"),
                                ("demo", "--help")]:
            result = self.run_cli(command, "--help")
            self.assertEqual(result.returncode, 0, command)
            self.assertIn(option, result.stdout, command)
        self.assertIn("3 authentication refused", self.run_cli("--help").stdout)

    def test_an_unexpected_error_inside_the_tool_exits_1_with_one_line(self):
        # The demo starts an emulator thread first; refused that thread, the tool meets an
        # error it has no exit code for.
        hard = resource.getrlimit(resource.RLIMIT_STACK)[1]
        if hard != resource.RLIM_INFINITY and hard < 1024 * MIB:
            self.skipTest("the hard RLIMIT_STACK is below 1 GiB")
        if "ASAN_OPTIONS" in os.environ or "TSAN_OPTIONS" in os.environ:
            # A sanitizer's shadow memory alone is far larger than the address space left.
            self.skipTest("a sanitizer build cannot start under a 256 MiB address space")
        result = self.run_cli("demo", preexec_fn=no_room_for_a_thread)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertEqual(result.stdout, "")
        self.assertRegex(result.stderr, r"^bluejeans-auth: [^\n]+\n$")

    def test_timeout_bounds_the_wait_for_a_slow_server_exit_4(self):
        self.emulator.admin("DELETE")
        self.addCleanup(self.emulator.admin, "DELETE")
        self.emulator.admin("POST", {"operation": "client", "faults": ["latency=5000"]})

        started = time.monotonic()
        result = self.client(timeout="0.3")
        elapsed = time.monotonic() - started
        self.assertEqual(result.returncode, 4, result.stdout + result.stderr)
        self.assertEqual(result.stdout, "")
        self.assertTrue(result.stderr.startswith("bluejeans-auth: get_token_by_client: "),
                        result.stderr)
        self.assertLess(elapsed, 4)  # the reply was 5 s away

    def test_a_timeout_out_of_range_is_a_usage_error(self):
        for value in ["0", "3601", "soon"]:
            result = self.client(timeout=value)
            self.assertEqual(result.returncode, 2, value)
            self.assertIn("--timeout: Value " + value + " not in range", result.stderr)

    def test_no_server_is_a_transport_failure_exit_4(self):
        result = self.client(host=f"http://127.0.0.1:{free_port()}")
        self.assertEqual(result.returncode, 4)
        self.assertIn("bluejeans-auth: get_token_by_client: could not connect", result.stderr)

    def test_plain_http_to_a_remote_host_is_refused_before_sending(self):
        result = self.client(host="http://example.invalid")
        self.assertEqual(result.returncode, 2)
        self.assertIn("refusing to send credentials over plain http", result.stderr)

    def test_faults_set_through_the_admin_endpoint_give_their_exit_codes(self):
        self.emulator.admin("DELETE")
        plan = self.emulator.admin("POST", {"operation": "client",
                                            "faults": ["403", "502", "drop", "not-json"]})
        self.assertEqual(plan["pending"]["client"], ["403", "502", "drop", "not-json"])

        codes = [self.client().returncode for _ in range(5)]
        self.assertEqual(codes, [3, 5, 4, 5, 0])
        served = self.emulator.admin("GET")["served"]["client"]
        self.assertEqual((served["status"], served["drop"], served["not-json"]), (2, 1, 1))


class EmulatorProgramTest(unittest.TestCase):
    def test_fault_options_are_served_in_order_then_the_normal_reply(self):
        emulator = Emulator("--fault", "client:503,retry-after=1", "--fault", "client:drop",
                            "--fault", "token-info:wrong-shape")
        try:
            env = {"PATH": os.environ.get("PATH", ""), **SANITIZER_SETTINGS,
                   "BLUEJEANS_CLIENT_ID": "emulator-client",
                   "BLUEJEANS_CLIENT_SECRET": CLIENT_SECRET, "BLUEJEANS_ACCESS_TOKEN": "x" * 40}

            def run(*args):
                result = subprocess.run([CLI, "--host", emulator.url, "--attempts", "1", *args],
                                        env=env, capture_output=True, text=True, timeout=60)
                CliTest.outputs.extend([result.stdout, result.stderr])
                return result

            first = run("client")
            self.assertEqual(first.returncode, 5)
            self.assertIn("server answered 503: injected fault: status 503", first.stderr)
            self.assertEqual(run("client").returncode, 4)
            self.assertEqual(run("client").returncode, 0)
            wrong = run("token-info")
            self.assertEqual(wrong.returncode, 5)
            self.assertIn("undecodable reply: user: expected integer, got string", wrong.stderr)
            self.assertEqual(emulator.admin("GET")["total_served"], 3)
        finally:
            self.assertEqual(emulator.stop(), 0)
        CliTest.outputs.append(emulator.log)
        self.assertIn("POST /oauth2/token?Client -> dropped", emulator.log)
        self.assertIn("GET /oauth2/tokenInfo?access_token=<redacted> -> 200", emulator.log)

    def test_a_bad_fault_option_is_a_usage_error(self):
        result = subprocess.run([EMULATOR, "--fault", "client:teapot"], capture_output=True,
                                text=True, timeout=30)
        self.assertEqual(result.returncode, 2)
        self.assertIn('bluejeans-auth-emulator: fault "teapot": expected', result.stderr)

    def test_a_config_file_replaces_the_accounts(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json") as file:
            json.dump({"clients": [{"client_id": "app", "client_secret": "app-secret-1",
                                    "enterprise": 9, "user": 10}]}, file)
            file.flush()
            emulator = Emulator("--config", file.name)
        try:
            env = {"PATH": "", **SANITIZER_SETTINGS, "BLUEJEANS_CLIENT_ID": "app",
                   "BLUEJEANS_CLIENT_SECRET": "app-secret-1"}
            result = subprocess.run([CLI, "--host", emulator.url, "client"], env=env,
                                    capture_output=True, text=True, timeout=60)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(json.loads(result.stdout)["scope"]["enterprise"], 9)
        finally:
            self.assertEqual(emulator.stop(), 0)
        self.assertNotIn("app-secret-1", emulator.log + result.stdout + result.stderr)


class SecretScanTest(unittest.TestCase):
    """Runs last (unittest sorts classes by name): scans everything the other tests saw."""

    def test_no_input_secret_appears_in_any_output(self):
        self.assertGreater(len(CliTest.outputs), 20)
        for output in CliTest.outputs:
            for secret in INPUT_SECRETS:
                self.assertNotIn(secret, output)

    def test_no_token_appears_in_any_error_output_or_log(self):
        for output in CliTest.outputs:
            if output.startswith("bluejeans-auth:") or "bluejeans-auth-emulator:" in output:
                self.assertIsNone(TOKEN.search(output), output)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: test_cli.py PATH/TO/bluejeans-auth PATH/TO/bluejeans-auth-emulator")
    CLI, EMULATOR = sys.argv[1], sys.argv[2]
    # unittest runs the classes in alphabetical order, so SecretScanTest sees every output.
    unittest.main(argv=[sys.argv[0], "-v"])

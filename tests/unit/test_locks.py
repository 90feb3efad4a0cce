"""The locks' Lua scripts call only commands the ACL user is granted (README's ACL SETUSER line,
which integration/sandbox/redis_topology.py runs the TLS and failover stacks as): a script calling
another is refused inside Redis, and the job holding the lock fails."""
import re

from redis.lock import Lock

from integration.sandbox.redis_topology import ACL_RULES
from integration.store.locks import RELEASE_IF_HELD, Lease


def granted() -> set[str]:
    return {name.lower() for name in re.findall(r"\+([a-z]+)", ACL_RULES)}


def called(script: str) -> set[str]:
    return {name.lower() for name in re.findall(r"redis\.call\(['\"](\w+)['\"]", script)}


def test_every_command_the_lock_scripts_call_is_granted():
    for script in (Lease.LUA_RELEASE_SCRIPT, Lease.LUA_EXTEND_SCRIPT, RELEASE_IF_HELD):
        assert called(script) and called(script) <= granted(), called(script) - granted()


def test_the_check_sees_a_command_the_acl_does_not_grant():
    assert called(Lock.LUA_EXTEND_SCRIPT) - granted() == {"pttl"}  # redis-py's own extend


def test_a_lease_extends_only_while_held(fake_redis):
    first, second = Lease(fake_redis, "oz:lock:t", 60), Lease(fake_redis, "oz:lock:t", 60)
    assert first.acquire() and not second.acquire()
    fake_redis.pexpire("oz:lock:t", 5000)  # run down: the extend renews the full minute
    assert first.extend() and 59000 < fake_redis.pttl("oz:lock:t") <= 60000
    assert first.release() and not first.extend() and not first.release()

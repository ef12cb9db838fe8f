/* Unit tests for oci/caps.c: capability names against the kernel's
   numbering, lookups the way users write them, and Docker's defaults.  */
#define _GNU_SOURCE
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <linux/capability.h>

#include <cmocka.h>

#include "spec/caps.h"

static void
test_caps_table_matches_kernel (void **state)
{
  static const struct
  {
    const char *name;
    int nr;
  } k[] = {
    { "CAP_CHOWN", CAP_CHOWN },
    { "CAP_DAC_OVERRIDE", CAP_DAC_OVERRIDE },
    { "CAP_DAC_READ_SEARCH", CAP_DAC_READ_SEARCH },
    { "CAP_FOWNER", CAP_FOWNER },
    { "CAP_FSETID", CAP_FSETID },
    { "CAP_KILL", CAP_KILL },
    { "CAP_SETGID", CAP_SETGID },
    { "CAP_SETUID", CAP_SETUID },
    { "CAP_SETPCAP", CAP_SETPCAP },
    { "CAP_LINUX_IMMUTABLE", CAP_LINUX_IMMUTABLE },
    { "CAP_NET_BIND_SERVICE", CAP_NET_BIND_SERVICE },
    { "CAP_NET_BROADCAST", CAP_NET_BROADCAST },
    { "CAP_NET_ADMIN", CAP_NET_ADMIN },
    { "CAP_NET_RAW", CAP_NET_RAW },
    { "CAP_IPC_LOCK", CAP_IPC_LOCK },
    { "CAP_IPC_OWNER", CAP_IPC_OWNER },
    { "CAP_SYS_MODULE", CAP_SYS_MODULE },
    { "CAP_SYS_RAWIO", CAP_SYS_RAWIO },
    { "CAP_SYS_CHROOT", CAP_SYS_CHROOT },
    { "CAP_SYS_PTRACE", CAP_SYS_PTRACE },
    { "CAP_SYS_PACCT", CAP_SYS_PACCT },
    { "CAP_SYS_ADMIN", CAP_SYS_ADMIN },
    { "CAP_SYS_BOOT", CAP_SYS_BOOT },
    { "CAP_SYS_NICE", CAP_SYS_NICE },
    { "CAP_SYS_RESOURCE", CAP_SYS_RESOURCE },
    { "CAP_SYS_TIME", CAP_SYS_TIME },
    { "CAP_SYS_TTY_CONFIG", CAP_SYS_TTY_CONFIG },
    { "CAP_MKNOD", CAP_MKNOD },
    { "CAP_LEASE", CAP_LEASE },
    { "CAP_AUDIT_WRITE", CAP_AUDIT_WRITE },
    { "CAP_AUDIT_CONTROL", CAP_AUDIT_CONTROL },
    { "CAP_SETFCAP", CAP_SETFCAP },
    { "CAP_MAC_OVERRIDE", CAP_MAC_OVERRIDE },
    { "CAP_MAC_ADMIN", CAP_MAC_ADMIN },
    { "CAP_SYSLOG", CAP_SYSLOG },
    { "CAP_WAKE_ALARM", CAP_WAKE_ALARM },
    { "CAP_BLOCK_SUSPEND", CAP_BLOCK_SUSPEND },
    { "CAP_AUDIT_READ", CAP_AUDIT_READ },
#ifdef CAP_PERFMON
    { "CAP_PERFMON", CAP_PERFMON },
    { "CAP_BPF", CAP_BPF },
#endif
#ifdef CAP_CHECKPOINT_RESTORE
    { "CAP_CHECKPOINT_RESTORE", CAP_CHECKPOINT_RESTORE },
#endif
  };
  (void) state;
  for (size_t i = 0; i < sizeof k / sizeof *k; i++)
    {
      assert_string_equal (za_cap_names[k[i].nr], k[i].name);
      assert_int_equal (za_cap_lookup (k[i].name), k[i].nr);
    }
  assert_int_equal (ZA_CAP_COUNT, 41);
  assert_string_equal (za_cap_names[38], "CAP_PERFMON");
  assert_string_equal (za_cap_names[39], "CAP_BPF");
  assert_string_equal (za_cap_names[40], "CAP_CHECKPOINT_RESTORE");
}

/* Every one of the 41 names, in every spelling, maps back to its number.  */
static void
test_caps_all_names_round_trip (void **state)
{
  (void) state;
  for (int i = 0; i < ZA_CAP_COUNT; i++)
    {
      const char *full = za_cap_names[i];
      char lower[64], bare_lower[64], doubled[80];
      assert_non_null (full);
      assert_int_equal (strncmp (full, "CAP_", 4), 0);
      for (size_t j = 0; j <= strlen (full); j++)
        lower[j] = (char) tolower ((unsigned char) full[j]);
      snprintf (bare_lower, sizeof bare_lower, "%s", lower + 4);
      snprintf (doubled, sizeof doubled, "cap_%s", lower);
      assert_int_equal (za_cap_lookup (full), i);
      assert_int_equal (za_cap_lookup (full + 4), i);
      assert_int_equal (za_cap_lookup (lower), i);
      assert_int_equal (za_cap_lookup (bare_lower), i);
      assert_int_equal (za_cap_lookup (doubled), i);
      assert_false (za_cap_is_all (full));
      /* names are unique */
      for (int j = 0; j < i; j++)
        assert_string_not_equal (za_cap_names[j], full);
    }
}

static void
test_caps_lookup_spellings (void **state)
{
  (void) state;
  assert_int_equal (za_cap_lookup ("NET_ADMIN"), 12);
  assert_int_equal (za_cap_lookup ("net_admin"), 12);
  assert_int_equal (za_cap_lookup ("Net_Admin"), 12);
  assert_int_equal (za_cap_lookup ("CAP_NET_ADMIN"), 12);
  assert_int_equal (za_cap_lookup ("cap_net_admin"), 12);
  assert_int_equal (za_cap_lookup ("cap_cap_net_admin"), 12);
  assert_int_equal (za_cap_lookup ("CAP_CAP_CAP_SYS_ADMIN"), 21);
  assert_int_equal (za_cap_lookup ("chown"), 0);
  assert_int_equal (za_cap_lookup ("checkpoint_restore"), 40);
}

static void
test_caps_lookup_unknown (void **state)
{
  static const char *const bad[] = { "",         "CAP_",      "cap_cap_",  "NET_ADMN", "net_admin ",
                                     " NET_ADMIN", "NET-ADMIN", "NETADMIN", "ALL",      "CAP_ALL",
                                     "CAP_NET",  "SYS",        "CAP_SYS_ADMIN_X", "41",  "12" };
  (void) state;
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    if (za_cap_lookup (bad[i]) != -1)
      fail_msg ("\"%s\" found as %d", bad[i], za_cap_lookup (bad[i]));
}

static void
test_caps_is_all (void **state)
{
  (void) state;
  assert_true (za_cap_is_all ("ALL"));
  assert_true (za_cap_is_all ("all"));
  assert_true (za_cap_is_all ("All"));
  assert_true (za_cap_is_all ("CAP_ALL"));
  assert_true (za_cap_is_all ("cap_all"));
  assert_false (za_cap_is_all (""));
  assert_false (za_cap_is_all ("CAP_"));
  assert_false (za_cap_is_all ("ALLX"));
  assert_false (za_cap_is_all ("AL"));
  assert_false (za_cap_is_all (" ALL"));
  assert_false (za_cap_is_all ("NET_ADMIN"));
}

static void
test_caps_default_set (void **state)
{
  static const int want[] = { CAP_CHOWN,    CAP_DAC_OVERRIDE, CAP_FSETID,  CAP_FOWNER,           CAP_MKNOD,
                              CAP_NET_RAW,  CAP_SETGID,       CAP_SETUID,  CAP_SETFCAP,          CAP_SETPCAP,
                              CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL, CAP_AUDIT_WRITE };
  uint64_t expect = 0, set = za_cap_default_set ();
  (void) state;
  for (size_t i = 0; i < sizeof want / sizeof *want; i++)
    expect |= UINT64_C (1) << want[i];
  assert_int_equal (sizeof want / sizeof *want, 14);
  assert_int_equal (__builtin_popcountll (set), 14);
  assert_true (set == expect);
  assert_true ((set & ~za_cap_all_set ()) == 0);
  /* not in the defaults */
  assert_false (set & (UINT64_C (1) << CAP_NET_ADMIN));
  assert_false (set & (UINT64_C (1) << CAP_SYS_ADMIN));
  assert_false (set & (UINT64_C (1) << CAP_DAC_READ_SEARCH));
}

static void
test_caps_all_set (void **state)
{
  (void) state;
  assert_int_equal (__builtin_popcountll (za_cap_all_set ()), 41);
  assert_true (za_cap_all_set () == (UINT64_C (1) << 41) - 1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_caps_table_matches_kernel),
    cmocka_unit_test (test_caps_all_names_round_trip),
    cmocka_unit_test (test_caps_lookup_spellings),
    cmocka_unit_test (test_caps_lookup_unknown),
    cmocka_unit_test (test_caps_is_all),
    cmocka_unit_test (test_caps_default_set),
    cmocka_unit_test (test_caps_all_set),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}

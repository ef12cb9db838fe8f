/* The ZLayer paths (zlayer-paths, Linux), written once: every module
   that needs the data or run dir asks here.

   root (euid 0): /var/lib/zlayer and /var/run/zlayer (the seed).
   Anyone else (rootless): the data dir is ~/.zlayer when $HOME is
   writable (the seed), else $XDG_DATA_HOME/zlayer, else a private
   ${TMPDIR:-/tmp}/zlayer-<uid>; the run dir is $XDG_RUNTIME_DIR/zlayer
   when that dir is ours, else <data dir>/run.  $ZLAYER_DATA_DIR
   overrides both (run dir <data dir>/run).  */
#ifndef ZA_PATHS_H
#define ZA_PATHS_H

/* The platform's data dir, ignoring $ZLAYER_DATA_DIR.  */
char *za_platform_data_dir (void);
/* $ZLAYER_DATA_DIR, else the platform's.  */
char *za_data_dir (void);
/* The run dir (state roots, container records).  */
char *za_run_dir (void);

#endif

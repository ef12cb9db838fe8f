/* The ZLayer paths (zlayer-paths, Linux), written once: every module
   that needs the data or run dir asks here.  */
#ifndef ZA_PATHS_H
#define ZA_PATHS_H

/* The platform's data dir: /var/lib/zlayer for root (or without $HOME),
   else ~/.zlayer.  */
char *za_platform_data_dir (void);
/* $ZLAYER_DATA_DIR, else the platform's.  */
char *za_data_dir (void);
/* /var/run/zlayer without $ZLAYER_DATA_DIR, else <data dir>/run.  */
char *za_run_dir (void);

#endif

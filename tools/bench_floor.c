/* The floor of `make bench`: a trivial libfcgi responder behind the same nginx as
 * amo-connect, with the same threading (FCGX_Accept_r in THREADS threads on one socket)
 * and a status-sized JSON answer, and no database, JWT or routing. What amo-connect costs
 * beyond nginx + libfcgi is its req/s as a fraction of this one's.
 *   cc -O2 -o bench-floor tools/bench_floor.c -lfcgi -lpthread
 *   FCGI_SOCKET=PATH bench-floor THREADS */
#include <fcgiapp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int listen_fd;
static const char answer[] =
    "Status: 200 OK\r\n"
    "Content-Type: application/json; charset=utf-8\r\n"
    "Cache-Control: no-store\r\n"
    "Content-Length: 165\r\n"
    "\r\n"
    "{\"success\":true,\"data\":{\"connected\":true,\"hasTokens\":true,\"needsReauth\":false,"
    "\"domain\":\"acct42.amocrm.ru\",\"accountId\":\"31000042\",\"expiresAt\":\"2026-12-02T00:00:00Z\"}}";

static void *worker(void *arg) {
  FCGX_Request r;
  (void)arg;
  if (FCGX_InitRequest(&r, listen_fd, 0) != 0) return NULL;
  while (FCGX_Accept_r(&r) == 0) {
    FCGX_PutStr(answer, (int)strlen(answer), r.out);
    FCGX_Finish_r(&r);
  }
  return NULL;
}

int main(int argc, char **argv) {
  int i, n;
  pthread_t *t;
  const char *path = getenv("FCGI_SOCKET");
  if (argc != 2 || (n = atoi(argv[1])) < 1 || !path || !*path) {
    fprintf(stderr, "usage: FCGI_SOCKET=PATH bench-floor THREADS\n");
    return 2;
  }
  if (FCGX_Init() != 0) return 1;
  listen_fd = FCGX_OpenSocket(path, 1024);
  if (listen_fd < 0) return 1;
  t = calloc((size_t)n, sizeof *t);
  for (i = 0; i < n; i++) pthread_create(&t[i], NULL, worker, NULL);
  for (i = 0; i < n; i++) pthread_join(t[i], NULL);
  return 0;
}

// folio-server: the finance and reporting HTTP service. Wiring only.
#include <cstdio>

int main() {
  std::fputs("folio-server: the HTTP service is not built yet; see folioctl\n", stderr);
  return 1;
}

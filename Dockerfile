# proxscale container image: one `deno compile` binary on a distroless base, run as non-root.
#
#   docker build -t proxscale:0.1.0 .
#   docker run --rm proxscale:0.1.0 --help
#
# The build stage needs network access (npm registry and dl.deno.land for the denort runtime that
# `deno compile` embeds, docs/toolchain.md, 'The single binary'); the runtime stage has no shell and
# no package manager, only the binary, glibc and CA certificates.

# ---- build ----
FROM denoland/deno:2.9.6 AS build
USER root
WORKDIR /src
ENV DENO_NO_UPDATE_CHECK=1
# Dependencies first, so that source edits do not re-download npm packages.
COPY deno.json deno.lock ./
RUN deno install --frozen
COPY . .
# deno.json "compile": --exclude-unused-npm keeps test-only packages (fast-check) out, and the
# permissions are baked in (no --allow-run, --allow-write or --allow-ffi).
RUN deno task compile && ./dist/proxscale --help >/dev/null

# ---- runtime ----
FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="proxscale" \
      org.opencontainers.image.description="Kubernetes node autoscaler for Proxmox VE virtual machines" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /src/dist/proxscale /usr/local/bin/proxscale
# distroless "nonroot" is uid/gid 65532, the same ids deploy/proxscale.yaml runs as.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/proxscale"]
CMD ["--help"]

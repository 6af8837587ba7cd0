# Multi-stage build of chusmed: a static binary (pure-Go SQLite, no cgo) in a
# minimal non-root image. Data lives in /data (mount a volume there).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/chusmed ./cmd/chusmed \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/chusmed /chusmed
COPY --from=build --chown=nonroot:nonroot /out/data /data
USER nonroot:nonroot
EXPOSE 1984
ENV CHUSME_DATA_DIR=/data
HEALTHCHECK --interval=30s --timeout=5s CMD ["/chusmed", "healthcheck"]
ENTRYPOINT ["/chusmed"]

/* setupapi_dump: prints what SetupAPI reads from INF files, as JSON, for infuse's oracle test.
 *
 * Usage: setupapi_dump.exe OUT.jsonl INF-or-@LIST...
 *   INF    a Windows path of an INF file (under Wine, Z:\ is the Unix root)
 *   @LIST  a UTF-8 text file naming one INF path per line (keeps the command line short, so one
 *          process can dump a whole corpus: Wine's start-up is the expensive part)
 *
 * OUT.jsonl gets one JSON object per INF, one per line, in argument order (UTF-8, no BOM):
 *   {"file": PATH, "error": null, "dump": {"sections": [{"name": N, "lines": [{"key": K, "fields": [F...]}]}]}}
 *   {"file": PATH, "error": {"code": WIN32-ERROR, "line": ERROR-LINE}, "dump": null or {...}}
 * "error" is what SetupOpenInfFileW(INF_STYLE_WIN4) reported; when it refused the file, the file is
 * opened again as INF_STYLE_OLDNT (no [Version] signature check) and "dump" holds
 * what that reads, or null when SetupAPI cannot lex the file at all.
 * "dump" has the schema of `infuse inf dump FILE --json`:
 *   - sections as SetupEnumInfSectionsW lists them (index 0, 1, ...), each name as that call returns it;
 *   - lines by SetupGetLineByIndexW, fields 1..SetupGetFieldCount by SetupGetStringFieldW;
 *   - "key" is SetupGetStringFieldW(ctx, 0) when that succeeds, null when it fails (a line with no key).
 *     SetupAPI also answers field 0 for a single-field line without '=' (the field itself), so the
 *     test, not this program, decides how to compare that case.
 * Exit status: 0 when every file was dumped or refused by SetupOpenInfFileW (a refusal is data),
 * 2 on a usage or output error, 3 when an API call failed in a way it never should.
 */
#include <windows.h>
#include <setupapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static FILE *out;
static int api_failures;

/* Writes a UTF-16 string as a JSON string literal in UTF-8. */
static void put_json_string(const WCHAR *s, size_t len)
{
    size_t i;
    fputc('"', out);
    for (i = 0; i < len; i++) {
        WCHAR c = s[i];
        if (c == L'"') {
            fputs("\\\"", out);
        } else if (c == L'\\') {
            fputs("\\\\", out);
        } else if (c < 0x20) {
            fprintf(out, "\\u%04x", (unsigned)c);
        } else if (c < 0x80) {
            fputc((int)c, out);
        } else {
            /* Everything else as a \u escape (surrogate pairs stay pairs): exact and ASCII-only. */
            fprintf(out, "\\u%04x", (unsigned)c);
        }
    }
    fputc('"', out);
}

static void put_json_wstr(const WCHAR *s)
{
    put_json_string(s, wcslen(s));
}

/* Field `index` of the line at `ctx`; NULL when SetupGetStringFieldW fails (caller frees). */
static WCHAR *get_field(INFCONTEXT *ctx, DWORD index)
{
    DWORD size = 0;
    WCHAR *buf;
    if (!SetupGetStringFieldW(ctx, index, NULL, 0, &size))
        return NULL;
    buf = malloc((size + 1) * sizeof(WCHAR));
    if (!buf) {
        fputs("setupapi_dump: out of memory\n", stderr);
        exit(2);
    }
    if (!SetupGetStringFieldW(ctx, index, buf, size + 1, NULL)) {
        free(buf);
        return NULL;
    }
    buf[size] = 0;
    return buf;
}

static void dump_section(HINF inf, const WCHAR *name)
{
    LONG count = SetupGetLineCountW(inf, name);
    LONG i;
    fputs("{\"name\":", out);
    put_json_wstr(name);
    fputs(",\"lines\":[", out);
    for (i = 0; i < count; i++) {
        INFCONTEXT ctx;
        DWORD nfields, f;
        WCHAR *key;
        if (i)
            fputc(',', out);
        if (!SetupGetLineByIndexW(inf, name, (DWORD)i, &ctx)) {
            fprintf(stderr, "setupapi_dump: SetupGetLineByIndexW(%ld) failed: %lu\n", (long)i,
                    GetLastError());
            api_failures++;
            fputs("{\"key\":null,\"fields\":[]}", out);
            continue;
        }
        key = get_field(&ctx, 0);
        fputs("{\"key\":", out);
        if (key) {
            put_json_wstr(key);
            free(key);
        } else {
            fputs("null", out);
        }
        fputs(",\"fields\":[", out);
        nfields = SetupGetFieldCount(&ctx);
        for (f = 1; f <= nfields; f++) {
            WCHAR *field = get_field(&ctx, f);
            if (f > 1)
                fputc(',', out);
            if (field) {
                put_json_wstr(field);
                free(field);
            } else {
                fprintf(stderr, "setupapi_dump: field %lu of line %ld failed: %lu\n", f, (long)i,
                        GetLastError());
                api_failures++;
                fputs("null", out);
            }
        }
        fputs("]}", out);
    }
    fputs("]}", out);
}

static void dump_file(const WCHAR *path)
{
    UINT err_line = 0;
    HINF inf;
    UINT index;
    fputs("{\"file\":", out);
    put_json_wstr(path);
    inf = SetupOpenInfFileW(path, NULL, INF_STYLE_WIN4, &err_line);
    if (inf == INVALID_HANDLE_VALUE) {
        DWORD code = GetLastError();
        fprintf(out, ",\"error\":{\"code\":%lu,\"line\":%u}", code, err_line);
        /* A file refused only for its [Version] signature is still lexed by SetupAPI: opened
         * as an old-style INF as well, its sections stay comparable. */
        inf = SetupOpenInfFileW(path, NULL, INF_STYLE_OLDNT, &err_line);
        if (inf == INVALID_HANDLE_VALUE) {
            fputs(",\"dump\":null}\n", out);
            return;
        }
    } else {
        fputs(",\"error\":null", out);
    }
    fputs(",\"dump\":{\"sections\":[", out);
    for (index = 0;; index++) {
        UINT need = 0;
        WCHAR *name;
        if (!SetupEnumInfSectionsW(inf, index, NULL, 0, &need)) {
            DWORD e = GetLastError();
            if (e != ERROR_NO_MORE_ITEMS && e != ERROR_INSUFFICIENT_BUFFER) {
                fprintf(stderr, "setupapi_dump: SetupEnumInfSectionsW(%u) failed: %lu\n", index, e);
                api_failures++;
                break;
            }
            if (e == ERROR_NO_MORE_ITEMS)
                break;
        }
        name = malloc((need + 1) * sizeof(WCHAR));
        if (!name) {
            fputs("setupapi_dump: out of memory\n", stderr);
            exit(2);
        }
        if (!SetupEnumInfSectionsW(inf, index, name, need + 1, NULL)) {
            fprintf(stderr, "setupapi_dump: SetupEnumInfSectionsW(%u) failed: %lu\n", index,
                    GetLastError());
            api_failures++;
            free(name);
            break;
        }
        if (index)
            fputc(',', out);
        dump_section(inf, name);
        free(name);
    }
    fputs("]}}\n", out);
    SetupCloseInfFile(inf);
}

/* Dumps every path listed in a UTF-8 list file, one per line (CR, LF or CRLF). */
static void dump_list(const WCHAR *list_path)
{
    FILE *list = _wfopen(list_path, L"rb");
    char line[8192];
    if (!list) {
        fwprintf(stderr, L"setupapi_dump: cannot open list %ls\n", list_path);
        exit(2);
    }
    while (fgets(line, sizeof line, list)) {
        WCHAR wpath[8192];
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = 0;
        if (!n)
            continue;
        if (!MultiByteToWideChar(CP_UTF8, 0, line, -1, wpath, 8192)) {
            fprintf(stderr, "setupapi_dump: list entry is not UTF-8: %s\n", line);
            exit(2);
        }
        dump_file(wpath);
    }
    fclose(list);
}

int wmain(int argc, WCHAR **argv)
{
    int i;
    if (argc < 3) {
        fputs("usage: setupapi_dump OUT.jsonl INF-or-@LIST...\n", stderr);
        return 2;
    }
    out = _wfopen(argv[1], L"wb");
    if (!out) {
        fwprintf(stderr, L"setupapi_dump: cannot create %ls\n", argv[1]);
        return 2;
    }
    for (i = 2; i < argc; i++) {
        if (argv[i][0] == L'@')
            dump_list(argv[i] + 1);
        else
            dump_file(argv[i]);
    }
    if (fclose(out)) {
        fputs("setupapi_dump: writing the output failed\n", stderr);
        return 2;
    }
    return api_failures ? 3 : 0;
}

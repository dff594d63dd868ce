using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace OrleansShards.Grains.Storage.Native;

/// <summary>
/// Copies the "main" database of one connection into another with SQLite's online backup API:
/// the destination becomes a page-for-page copy of a consistent state of the source (the source
/// may keep serving readers; the copy holds a read transaction on it). The backup object is
/// always finished, on success and failure.
/// </summary>
internal static class SqliteBackup
{
    /// <summary>
    /// Copies <paramref name="source"/> into <paramref name="destination"/>, replacing its content.
    /// </summary>
    /// <param name="source">The database to copy (open).</param>
    /// <param name="destination">The database to overwrite (open, no transaction open on it).</param>
    /// <param name="pagesPerStep">
    /// Pages per <c>sqlite3_backup_step</c>; -1 (default) copies everything in one step. With
    /// chunks, a write to the source through another connection restarts the copy, so the result
    /// is still consistent.
    /// </param>
    /// <returns>The number of pages copied.</returns>
    /// <exception cref="SqliteException">SQLite failed (busy/locked destination, I/O, …).</exception>
    public static int Copy(SqliteConnection source, SqliteConnection destination, int pagesPerStep = -1)
    {
        if (pagesPerStep == 0 || pagesPerStep < -1)
        {
            throw new ArgumentOutOfRangeException(nameof(pagesPerStep), pagesPerStep, "Use -1 for everything or a positive page count.");
        }

        var from = SqliteNative.GetHandle(source);
        var to = SqliteNative.GetHandle(destination);
        var backup = raw.sqlite3_backup_init(to, "main", from, "main");
        if (backup is null || backup.IsInvalid)
        {
            SqliteNative.ThrowError(raw.sqlite3_errcode(to), "sqlite3_backup_init", to);
        }

        var pages = 0;
        var rc = SqliteNative.SQLITE_ERROR;
        try
        {
            do
            {
                rc = raw.sqlite3_backup_step(backup, pagesPerStep);
                pages = raw.sqlite3_backup_pagecount(backup);
            }
            while (rc == SqliteNative.SQLITE_OK);
        }
        finally
        {
            var finish = raw.sqlite3_backup_finish(backup);
            if (finish != SqliteNative.SQLITE_OK && rc == SqliteNative.SQLITE_DONE)
            {
                rc = finish;
            }

            backup.Dispose();
        }

        if (rc != SqliteNative.SQLITE_DONE)
        {
            SqliteNative.ThrowError(rc, "sqlite3_backup_step", to);
        }

        return pages;
    }
}

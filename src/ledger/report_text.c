/* The report's labels, English and Japanese. */
#include <string.h>

#include "ledger/ledger.h"
#include "ledger/report_internal.h"

static const char *const labels[L_COUNT][2] = {
	[L_TITLE] = { "Continuity report", "事業継続レポート" },
	[L_GENERATED] = { "Generated", "作成日時" },
	[L_HOST] = { "Host", "ホスト" },
	[L_SUMMARY] = { "Summary", "概要" },
	[L_DATASETS] = { "Datasets: recovery objectives", "データセットと目標復旧時点・時間" },
	[L_DATASET] = { "Dataset", "データセット" },
	[L_RPO] = { "RPO", "目標復旧時点 (RPO)" },
	[L_RTO] = { "RTO", "目標復旧時間 (RTO)" },
	[L_LAST_BACKUP] = { "Last backup", "最終バックアップ" },
	[L_OFFSITE] = { "Offsite copy", "遠隔地コピー" },
	[L_LAST_DRILL] = { "Last restore drill", "最終復旧訓練" },
	[L_RESTORE_TIME] = { "Measured restore time", "実測復旧時間" },
	[L_STATUS] = { "Status", "状態" },
	[L_BACKUPS] = { "Backups", "バックアップ" },
	[L_REPOSITORY] = { "Repository", "リポジトリ" },
	[L_SNAPSHOTS] = { "snapshots", "件のスナップショット" },
	[L_TIME] = { "Time", "日時" },
	[L_AGE] = { "Age", "経過時間" },
	[L_PATHS] = { "Paths", "対象パス" },
	[L_SIZE] = { "Size", "サイズ" },
	[L_AGE_CHART] = { "Age of the newest backup over the last 30 days",
			  "過去30日間の最新バックアップの経過時間" },
	[L_DRILLS] = { "Restore drills", "復旧訓練" },
	[L_DRILL_CHART] = { "Measured restore time against the RTO", "実測復旧時間と目標復旧時間" },
	[L_MONITOR] = { "Monitoring", "監視" },
	[L_CHECK] = { "Check", "監視項目" },
	[L_STATE] = { "State", "状態" },
	[L_MESSAGE] = { "Message", "内容" },
	[L_SINCE] = { "Since", "開始" },
	[L_CLOCK] = { "Clock synchronisation", "時刻同期" },
	[L_SOURCE] = { "Source", "参照サーバー" },
	[L_OFFSET] = { "Offset", "時刻のずれ" },
	[L_INCIDENTS] = { "Incidents", "インシデント" },
	[L_SEVERITY] = { "Severity", "重要度" },
	[L_SCOPE] = { "Scope of impact", "影響範囲" },
	[L_OCCURRED] = { "Occurred", "発生" },
	[L_DETECTED] = { "Detected", "検知" },
	[L_RECOVERED] = { "Recovered", "復旧" },
	[L_TTD] = { "Time to detect", "検知までの時間" },
	[L_TTR] = { "Time to recover", "復旧までの時間" },
	[L_CAUSE] = { "Cause", "原因" },
	[L_PREVENTION] = { "Prevention", "再発防止策" },
	[L_OWNER] = { "Owner", "担当" },
	[L_TIMELINE] = { "Timeline", "経過" },
	[L_LEDGER] = { "Audit ledger", "監査台帳（改ざん検知）" },
	[L_INTACT] = { "Intact: every record and checkpoint verifies",
		       "改ざんなし：すべての記録とチェックポイントを検証済み" },
	[L_TAMPERED] = { "TAMPERED", "改ざんを検知" },
	[L_TORN] = { "Last record torn by a crash during an append", "末尾の記録が書き込み中に中断" },
	[L_RECORDS] = { "Records", "記録数" },
	[L_ROOT] = { "Merkle root", "マークルルート" },
	[L_LAST_CKPT] = { "Last verified checkpoint", "検証済みの最新チェックポイント" },
	[L_FIRST_BAD] = { "First bad record", "最初の不正な記録" },
	[L_NOT_CONFIGURED] = { "Not configured", "未設定" },
	[L_NONE] = { "none", "なし" },
	[L_NO_INCIDENTS] = { "No open or recent incidents.", "未解決・最近のインシデントはありません。" },
	[L_MET] = { "met", "達成" },
	[L_EXCEEDED] = { "EXCEEDED", "超過" },
	[L_NEVER] = { "never", "なし" },
	[L_BY_POLICY] = { "Filled in by the continuity policy once datasets with RPO and RTO are "
			  "configured.", "RPO・RTO を持つデータセットを設定すると継続ポリシーが記入します。" },
	[L_BY_MONITOR] = { "Filled in by the monitoring module once checks are configured.",
			   "監視項目を設定すると監視機能が記入します。" },
	[L_BY_TIMESYNC] = { "Filled in by the time-sync module once it is configured.",
			    "時刻同期を設定すると時刻同期機能が記入します。" },
	[L_NEWEST_BACKUP] = { "Newest backup", "最新のバックアップ" },
	[L_OPEN_INCIDENTS] = { "Open incidents", "未解決のインシデント" },
	[L_UNREADABLE] = { "could not be read", "読み取れません" },
	[L_FOOTER] = { "Made by mamori " MAMORI_VERSION ". This page is self-contained: print it or "
		       "save it as PDF.", "mamori " MAMORI_VERSION " が作成。このページは単体で完結しています"
		       "（印刷・PDF保存できます）。" },
	[L_ST_OPEN] = { "open", "対応中" },
	[L_ST_RECOVERED] = { "recovered", "復旧済み" },
	[L_ST_RESOLVED] = { "resolved", "解決済み" },
	[L_NO_SNAPSHOTS] = { "No snapshots.", "スナップショットがありません。" },
	[L_NO_CKPT] = { "no checkpoint yet", "チェックポイントなし" },
	[L_TIMES_IN] = { "times in", "時刻表記" },
	[L_HOSTS] = { "Hosts", "ホスト" },
	[L_EV_OPEN] = { "opened", "起票" },
	[L_EV_NOTE] = { "note", "記録" },
	[L_EV_ACTION] = { "action", "対応" },
	[L_EV_ALERT] = { "alert", "警報" },
	[L_EV_RECOVER] = { "recovered", "復旧" },
	[L_EV_RESOLVE] = { "resolved", "解決" },
};

const char *
report_label(int lang, int l)
{
	if (l < 0 || l >= L_COUNT)
		return "";
	return labels[l][lang == REPORT_JA];
}

const char *
report_event_label(int lang, const char *kind)
{
	static const struct { const char *k; int l; } map[] = {
		{ "open", L_EV_OPEN }, { "note", L_EV_NOTE }, { "action", L_EV_ACTION },
		{ "alert", L_EV_ALERT }, { "recover", L_EV_RECOVER }, { "resolve", L_EV_RESOLVE },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(map[i].k, kind) == 0)
			return report_label(lang, map[i].l);
	}
	return kind;
}

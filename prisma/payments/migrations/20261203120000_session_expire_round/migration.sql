-- AlterTable
ALTER TABLE "payments" ADD COLUMN     "psp_expire_round" INTEGER NOT NULL DEFAULT 0;
